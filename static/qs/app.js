/* quaysquash pages, shared part: API calls, toasts, clipboard, modals (focus trap, Escape) and
   copy buttons, exposed as window.QS for the page scripts (fetch.js, tags.js, history.js,
   robots.js, settings.js). Plain ES2017, no build step and no CDN: the registry may run offline. */
(function () {
  "use strict";

  const $ = (sel, root) => (root || document).querySelector(sel);
  const $$ = (sel, root) => Array.from((root || document).querySelectorAll(sel));
  const configEl = document.getElementById("page-config");
  const config = configEl ? JSON.parse(configEl.textContent) : {};

  function csrfToken() {
    const meta = document.querySelector('meta[name="csrf-token"]');
    return meta ? meta.content : "";
  }

  class ApiError extends Error {
    constructor(status, body) {
      super((body && (body.detail || body.error_message || JSON.stringify(body))) || "HTTP " + status);
      this.status = status;
      this.body = body;
    }
  }

  async function api(method, url, body) {
    const opts = {
      method: method,
      credentials: "same-origin",
      headers: { Accept: "application/json", "X-CSRFToken": csrfToken() },
    };
    if (body !== undefined) {
      opts.headers["Content-Type"] = "application/json";
      opts.body = JSON.stringify(body);
    }
    const resp = await fetch(url, opts);
    let data = null;
    if (resp.status !== 204) {
      try { data = await resp.json(); } catch (e) { data = null; }
    }
    if (!resp.ok) throw new ApiError(resp.status, data);
    return data;
  }

  function toast(message) {
    const el = $("#toast");
    if (!el) return;
    el.textContent = message;
    el.classList.add("show");
    clearTimeout(toast.timer);
    toast.timer = setTimeout(() => el.classList.remove("show"), 2500);
  }

  // Clipboard API where allowed (secure contexts), else the execCommand fallback that plain-HTTP
  // deployments on a LAN address need.
  async function copyText(text) {
    if (navigator.clipboard && window.isSecureContext) {
      try { await navigator.clipboard.writeText(text); return true; } catch (e) { /* fall back */ }
    }
    const area = document.createElement("textarea");
    area.value = text;
    area.setAttribute("readonly", "");
    area.style.position = "fixed";
    area.style.opacity = "0";
    document.body.appendChild(area);
    area.select();
    let ok = false;
    try { ok = document.execCommand("copy"); } catch (e) { ok = false; }
    area.remove();
    return ok;
  }

  /* ---- modals: focus trap, Escape, focus returns to the opener ---- */
  let openModal = null;
  let opener = null;
  const FOCUSABLE = 'a[href], button:not([disabled]), input:not([disabled]):not([type="hidden"]), select:not([disabled]), textarea:not([disabled]), summary, [tabindex]:not([tabindex="-1"])';

  function visibleFocusable(modal) {
    return $$(FOCUSABLE, modal).filter((el) => el.offsetParent !== null || el === document.activeElement);
  }

  function showModal(backdrop, from, focusEl) {
    if (openModal) hideModal();
    opener = from || document.activeElement;
    openModal = backdrop;
    backdrop.hidden = false;
    document.body.classList.add("modal-open");
    const target = focusEl || visibleFocusable(backdrop)[0];
    if (target) target.focus();
  }

  function hideModal() {
    if (!openModal) return;
    const closing = openModal;
    openModal = null;
    closing.hidden = true;
    document.body.classList.remove("modal-open");
    closing.dispatchEvent(new CustomEvent("modal-closed"));
    if (opener && document.contains(opener)) opener.focus();
  }

  document.addEventListener("keydown", (ev) => {
    if (!openModal) return;
    if (ev.key === "Escape") { ev.preventDefault(); hideModal(); return; }
    if (ev.key !== "Tab") return;
    const items = visibleFocusable(openModal);
    if (!items.length) return;
    const first = items[0];
    const last = items[items.length - 1];
    const at = items.indexOf(document.activeElement);
    // Focus on nothing we know (the dialog itself, <body>, outside): enter at an end.
    if (at === -1) { ev.preventDefault(); (ev.shiftKey ? last : first).focus(); }
    else if (ev.shiftKey && at === 0) { ev.preventDefault(); last.focus(); }
    else if (!ev.shiftKey && at === items.length - 1) { ev.preventDefault(); first.focus(); }
  });

  // Disabling the focused control drops focus to <body>, outside the modal (a button that
  // turns disabled while a request runs): keep it on the dialog, where Tab goes on inside.
  function setDisabled(el, disabled) {
    const hadFocus = disabled && document.activeElement === el;
    el.disabled = disabled;
    const dialog = hadFocus && el.closest('[role="dialog"]');
    if (dialog) { dialog.setAttribute("tabindex", "-1"); dialog.focus(); }
  }

  document.addEventListener("click", (ev) => {
    const closer = ev.target.closest("[data-close]");
    if (closer && openModal && openModal.contains(closer)) { hideModal(); return; }
    if (openModal && ev.target === openModal) hideModal(); // click on the backdrop
  });

  /* ---- generic copy buttons ---- */
  document.addEventListener("click", async (ev) => {
    const btn = ev.target.closest("[data-copy], .copy-digest");
    if (!btn) return;
    const value = btn.dataset.value || ($("#" + btn.dataset.copy) || {}).value || "";
    if (await copyText(value)) toast("Copied to clipboard");
  });

  function repoApi(path) {
    return "/api/v1/repository/" + config.namespace + "/" + config.repository + path;
  }

  // Per-tag menus are <details>: close them on an outside click or Escape, as a menu would.
  document.addEventListener("click", (ev) => {
    $$("details.kebab[open]").forEach((d) => { if (!d.contains(ev.target)) d.open = false; });
  });
  document.addEventListener("keydown", (ev) => {
    if (ev.key !== "Escape" || openModal) return;
    $$("details.kebab[open]").forEach((d) => { d.open = false; d.querySelector("summary").focus(); });
  });

  /* ---- live filters: a form[data-live] re-renders its [data-live-region]s as you type ---- */
  function initLiveFilters() {
    $$("form[data-live]").forEach((form) => {
      let timer = null;
      let seq = 0;
      async function refresh() {
        const mine = ++seq;
        const params = new URLSearchParams(new FormData(form));
        params.delete("page");
        const url = window.location.pathname + "?" + params;
        const resp = await fetch(url, { credentials: "same-origin" });
        if (mine !== seq || !resp.ok) return;
        const doc = new DOMParser().parseFromString(await resp.text(), "text/html");
        $$("[data-live-region]").forEach((el) => {
          const fresh = doc.getElementById(el.id);
          if (fresh) el.replaceWith(document.importNode(fresh, true));
        });
        window.history.replaceState(null, "", url);
        document.dispatchEvent(new CustomEvent("live-refreshed"));
      }
      form.addEventListener("input", (ev) => {
        if (ev.target.type !== "search" && ev.target.type !== "text") return;
        clearTimeout(timer);
        timer = setTimeout(refresh, 250);
      });
      form.addEventListener("change", (ev) => { if (ev.target.type === "checkbox") refresh(); });
      form.addEventListener("submit", (ev) => { ev.preventDefault(); clearTimeout(timer); refresh(); });
    });
  }
  initLiveFilters();

  function errorText(e) {
    if (e.body && typeof e.body === "object") return Object.values(e.body).flat().join(" ");
    return e.message;
  }

  function human(n) {
    if (n == null) return "?";
    const units = ["B", "KiB", "MiB", "GiB", "TiB"];
    let i = 0;
    while (n >= 1024 && i < units.length - 1) { n /= 1024; i++; }
    return (i ? n.toFixed(1) : n) + " " + units[i];
  }

  function download(filename, text, type) {
    const url = URL.createObjectURL(new Blob([text], { type: type || "text/plain" }));
    const a = document.createElement("a");
    a.href = url;
    a.download = filename;
    document.body.appendChild(a);
    a.click();
    a.remove();
    setTimeout(() => URL.revokeObjectURL(url), 1000);
  }

  window.QS = { $, $$, config, api, ApiError, toast, copyText, showModal, hideModal, setDisabled,
    repoApi, errorText, human, download };
})();
