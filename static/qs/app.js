/* quaysquash pages: modals, copy buttons, the Fetch Tag modal and the robot pages.
   Plain ES2017, no build step and no CDN: the registry may run offline. */
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

  /* ---- Fetch Tag modal ---- */
  function initFetchModal() {
    const modal = $("#fetch-modal");
    if (!modal) return;
    const format = $("#fetch-format");
    const robotSel = $("#fetch-robot");
    const platformSel = $("#fetch-platform");
    const compressed = $("#fetch-compressed");
    const commandEl = $("#command-data");
    const copyBtn = $("#copy-command");
    const feedback = $("#copy-feedback");
    const warning = $("#robot-warning");
    const note = $("#robot-note");
    let current = null; // {tag, digest, platforms}
    let robots = null;
    let seq = 0;
    let pollTimer = null;

    $("#inline-robot-prefix").textContent = config.namespace + "+";

    async function loadRobots() {
      if (!config.canSeeRobots) { robots = []; return; }
      try {
        const data = await api("GET", "/api/v1/organization/" + config.namespace +
          "/robots?token=false&repository=" + encodeURIComponent(config.repository));
        robots = data.robots;
      } catch (e) {
        robots = [];
      }
    }

    function fillRobots(selectName) {
      const previous = selectName || robotSel.value;
      robotSel.innerHTML = "";
      if (config.isPublic) robotSel.add(new Option("Anonymous (public repository)", ""));
      for (const r of robots) {
        const label = r.name + (r.can_read ? " — has read" : " — no read permission");
        const opt = new Option(label, r.short_name);
        opt.dataset.canRead = r.can_read ? "1" : "0";
        robotSel.add(opt);
      }
      if (!robots.length && !config.isPublic) robotSel.add(new Option("No robot accounts", ""));
      const names = robots.map((r) => r.short_name);
      if (previous && names.includes(previous)) robotSel.value = previous;
      else if (!config.isPublic) {
        const reader = robots.find((r) => r.can_read);
        if (reader) robotSel.value = reader.short_name;
      }
      $("#create-robot-inline").hidden = !config.isNamespaceAdmin;
      if (config.isNamespaceAdmin && !robots.some((r) => r.can_read)) $("#create-robot-inline").open = true;
    }

    function isSquash() { return config.squashFormats.includes(format.value); }

    async function update() {
      const mine = ++seq;
      feedback.textContent = "";
      const squash = isSquash();
      $("#squash-options").hidden = !squash;
      $("#cache-panel").hidden = !squash;
      $("#platform-row").hidden = !(squash && current.platforms.length);
      commandEl.setAttribute("aria-busy", "true");
      setDisabled(copyBtn, true);
      const params = new URLSearchParams({ kind: format.value });
      if (squash) {
        if (robotSel.value) params.set("robot", robotSel.value);
        if (current.platforms.length && platformSel.value) params.set("platform", platformSel.value);
        if (compressed.checked) params.set("compression", "gzip");
      }
      try {
        const data = await api("GET", repoApi("/tag/" + current.tag + "/fetch?" + params));
        if (mine !== seq) return;
        commandEl.textContent = data.command;
        warning.hidden = !data.warning;
        warning.textContent = data.warning || "";
        note.textContent = squash && data.robot && !data.token_included
          ? "Only organization administrators can see robot tokens: replace TOKEN with " + data.robot.name + "'s token."
          : "";
      } catch (e) {
        if (mine !== seq) return;
        commandEl.textContent = "";
        warning.hidden = false;
        warning.textContent = "Could not build the command: " + e.message;
      }
      commandEl.setAttribute("aria-busy", "false");
      setDisabled(copyBtn, false);
      if (squash) refreshCache(mine);
    }

    function squashParams() {
      const p = new URLSearchParams();
      if (current.platforms.length && platformSel.value) p.set("platform", platformSel.value);
      p.set("format", format.value === "squash-oci" ? "oci" : "docker");
      p.set("compression", compressed.checked ? "gzip" : "none");
      return p;
    }

    function human(n) {
      if (n == null) return "?";
      const units = ["B", "KiB", "MiB", "GiB", "TiB"];
      let i = 0;
      while (n >= 1024 && i < units.length - 1) { n /= 1024; i++; }
      return (i ? n.toFixed(1) : n) + " " + units[i];
    }

    async function refreshCache(mine) {
      clearTimeout(pollTimer);
      const stateEl = $("#cache-state");
      const bar = $("#cache-progress");
      const prime = $("#prime-cache");
      let data;
      try {
        data = await api("GET", repoApi("/tag/" + current.tag + "/squash?" + squashParams()));
      } catch (e) {
        if (mine !== seq) return;
        bar.hidden = true;
        setDisabled(prime, true);
        stateEl.textContent = e.status === 404 ? "unavailable (the squash service does not answer for this tag)" : "unknown: " + e.message;
        return;
      }
      if (mine !== seq || modal.hidden) return;
      setDisabled(prime, data.state === "ready" || data.state === "building");
      bar.hidden = data.state !== "building";
      if (data.state === "ready") stateEl.textContent = "cached" + (data.size ? " (" + human(data.size) + ")" : "");
      else if (data.state === "building") {
        const pct = data.size ? Math.floor((100 * data.bytes_written) / data.size) : 0;
        bar.value = pct;
        stateEl.textContent = "being built: " + human(data.bytes_written) + (data.size ? " of " + human(data.size) + " (" + pct + "%)" : "");
        pollTimer = setTimeout(() => refreshCache(mine), 1000);
      } else if (data.state === "failed") stateEl.textContent = "build failed" + (data.error ? ": " + data.error : "") + " — prime to retry";
      else stateEl.textContent = "not built yet";
    }

    $("#prime-cache").addEventListener("click", async () => {
      const mine = seq;
      setDisabled($("#prime-cache"), true);
      try {
        await api("POST", repoApi("/tag/" + current.tag + "/squash?" + squashParams()));
        toast("Squash build requested");
      } catch (e) {
        toast("Prime failed: " + e.message);
      }
      refreshCache(mine);
    });

    copyBtn.addEventListener("click", async () => {
      const ok = await copyText(commandEl.textContent);
      feedback.textContent = ok ? "Copied" : "Copy failed: select the command and copy it by hand";
      copyBtn.classList.toggle("copied-state", ok);
    });

    [format, robotSel, platformSel, compressed].forEach((el) => el.addEventListener("change", update));

    $("#inline-robot-create").addEventListener("click", async () => {
      const errEl = $("#inline-robot-error");
      const short = $("#inline-robot-name").value.trim();
      errEl.hidden = true;
      try {
        await api("PUT", "/api/v1/organization/" + config.namespace + "/robots/" + encodeURIComponent(short),
          { description: $("#inline-robot-description").value });
        await api("PUT", repoApi("/permissions/robot/" + encodeURIComponent(short)), { role: "read" });
      } catch (e) {
        errEl.hidden = false;
        errEl.textContent = e.body && e.body.name ? [].concat(e.body.name).join(" ") : e.message;
        return;
      }
      await loadRobots();
      fillRobots(short);
      $("#inline-robot-name").value = "";
      $("#inline-robot-description").value = "";
      $("#create-robot-inline").open = false;
      toast("Created " + config.namespace + "+" + short + " with read permission");
      update();
    });

    modal.addEventListener("modal-closed", () => { seq++; clearTimeout(pollTimer); });

    document.addEventListener("click", async (ev) => {
      const btn = ev.target.closest(".fetch-tag");
      if (!btn) return;
      const row = btn.closest("tr");
      current = {
        tag: row.dataset.tag,
        digest: row.dataset.digest,
        platforms: row.dataset.platforms ? row.dataset.platforms.split(",") : [],
      };
      $("#fetch-tag-name").textContent = current.tag;
      platformSel.innerHTML = "";
      for (const p of current.platforms) platformSel.add(new Option(p, p));
      if (current.platforms.includes("linux/amd64")) platformSel.value = "linux/amd64";
      commandEl.textContent = "";
      showModal(modal, btn, format);
      if (robots === null) await loadRobots();
      fillRobots();
      update();
    });
  }

  /* ---- Tags tab: selection, per-tag menu ---- */
  function initTagActions() {
    const modal = $("#tag-action-modal");
    if (!modal) return;
    const selectAll = $("#select-all");
    const deleteSelected = $("#delete-selected");
    const boxes = $$(".tag-select");
    function sync() {
      const n = boxes.filter((b) => b.checked).length;
      if (deleteSelected) {
        deleteSelected.disabled = n === 0;
        deleteSelected.textContent = n ? "Delete " + n + " selected" : "Delete selected";
      }
    }
    if (selectAll) selectAll.addEventListener("change", () => { boxes.forEach((b) => { b.checked = selectAll.checked; }); sync(); });
    boxes.forEach((b) => b.addEventListener("change", sync));

    let action = null;
    let tags = [];
    let digest = "";
    function open(kind, names, dig, from) {
      action = kind; tags = names; digest = dig;
      $$("[data-for]", modal).forEach((el) => { el.hidden = el.dataset.for !== kind; });
      $("#tag-action-error").hidden = true;
      const titles = { add: "Add tag to " + names[0], expiration: "Change expiration of " + names[0], delete: "Delete tags" };
      $("#tag-action-title").textContent = titles[kind];
      $("#tag-action-submit").textContent = kind === "delete" ? "Delete" : "Save";
      $("#tag-action-submit").className = "btn " + (kind === "delete" ? "btn-danger" : "btn-primary");
      $("#tag-action-confirm").textContent = "Delete " + names.join(", ") + "? The tag history keeps a record.";
      const focus = kind === "add" ? $("#tag-action-newname") : kind === "expiration" ? $("#tag-action-expiration") : $("#tag-action-submit");
      showModal(modal, from, focus);
    }
    document.addEventListener("click", (ev) => {
      const item = ev.target.closest("[data-tag-action]");
      if (!item) return;
      const row = item.closest("tr");
      const details = item.closest("details");
      if (details) details.open = false;
      open(item.dataset.tagAction, [row.dataset.tag], row.dataset.digest, details ? details.querySelector("summary") : item);
    });
    if (deleteSelected) deleteSelected.addEventListener("click", () => {
      open("delete", boxes.filter((b) => b.checked).map((b) => b.value), "", deleteSelected);
    });
    $("#tag-action-form").addEventListener("submit", async (ev) => {
      ev.preventDefault();
      try {
        if (action === "add") {
          await api("PUT", repoApi("/tag/" + encodeURIComponent($("#tag-action-newname").value.trim())), { manifest_digest: digest });
        } else if (action === "expiration") {
          const v = $("#tag-action-expiration").value;
          await api("PUT", repoApi("/tag/" + tags[0]), { expiration: v ? Math.floor(Date.parse(v + "Z") / 1000) : null });
        } else {
          for (const t of tags) await api("DELETE", repoApi("/tag/" + t));
        }
      } catch (e) {
        const el = $("#tag-action-error");
        el.hidden = false;
        el.textContent = e.body ? Object.values(e.body).flat().join(" ") : e.message;
        return;
      }
      window.location.reload();
    });
  }

  /* ---- Settings tab ---- */
  function initSettings() {
    const form = $("#settings-form");
    if (!form) return;
    form.addEventListener("submit", async (ev) => {
      ev.preventDefault();
      const status = $("#settings-status");
      try {
        await api("PUT", repoApi(""), {
          description: form.description.value,
          visibility: form.querySelector('input[name="visibility"]:checked').value,
          auto_prime: form.auto_prime.checked,
        });
        status.textContent = "Saved";
      } catch (e) {
        status.textContent = "Not saved: " + e.message;
      }
    });
    const permUrl = (kind, name) => repoApi("/permissions/" + kind + "/" + encodeURIComponent(name));
    $$("#repo-permissions tr[data-kind]").forEach((row) => {
      const url = permUrl(row.dataset.kind, row.dataset.name);
      row.querySelector(".perm-role").addEventListener("change", async (ev) => {
        try { await api("PUT", url, { role: ev.target.value }); toast("Permission saved"); }
        catch (e) { toast("Not saved: " + e.message); }
      });
      row.querySelector(".perm-remove").addEventListener("click", async () => {
        try { await api("DELETE", url); row.remove(); toast("Permission removed"); }
        catch (e) { toast("Not removed: " + e.message); }
      });
    });
    $("#add-permission-form").addEventListener("submit", async (ev) => {
      ev.preventDefault();
      const account = $("#perm-account").value.trim();
      const kind = account.includes("+") ? "robot" : "user";
      const errEl = $("#perm-error");
      errEl.hidden = true;
      try {
        await api("PUT", permUrl(kind, account), { role: $("#perm-new-role").value });
      } catch (e) {
        errEl.hidden = false;
        errEl.textContent = e.status === 404 ? "No such robot in " + config.namespace : (e.body ? Object.values(e.body).flat().join(" ") : e.message);
        return;
      }
      window.location.reload();
    });
    $("#delete-repository").addEventListener("click", async () => {
      const name = config.namespace + "/" + config.repository;
      if (window.prompt("Type " + name + " to delete it") !== name) return;
      await api("DELETE", repoApi(""));
      window.location.href = "/";
    });
  }

  /* ---- Robot accounts page ---- */
  function initRobots() {
    const table = $("#robots-table");
    if (!table) return;
    const base = "/api/v1/organization/" + config.namespace + "/robots";
    $("#create-robot-form").addEventListener("submit", async (ev) => {
      ev.preventDefault();
      const errEl = $("#robot-form-error");
      errEl.hidden = true;
      const short = $("#new-robot-name").value.trim();
      try {
        await api("PUT", base + "/" + encodeURIComponent(short), { description: $("#new-robot-description").value });
      } catch (e) {
        errEl.hidden = false;
        errEl.textContent = e.body && e.body.name ? [].concat(e.body.name).join(" ") : e.message;
        return;
      }
      window.location.reload();
    });

    function showCredentials(robot, from) {
      $("#credentials-title").textContent = "Credentials for " + robot.name;
      $("#cred-username").value = robot.name;
      $("#cred-token").value = robot.token || "";
      $("#cred-login").value = "docker login -u='" + robot.name + "' -p='" + (robot.token || "") + "' " + window.location.host;
      showModal($("#credentials-modal"), from);
    }

    table.addEventListener("click", async (ev) => {
      const btn = ev.target.closest("[data-action]");
      if (!btn) return;
      const short = btn.closest("tr").dataset.robot;
      const url = base + "/" + short;
      const act = btn.dataset.action;
      try {
        if (act === "credentials") {
          showCredentials(await api("GET", url), btn);
        } else if (act === "regenerate") {
          if (!window.confirm("Regenerate the token of " + config.namespace + "+" + short + "? The current token stops working at once.")) return;
          showCredentials(await api("POST", url + "/regenerate"), btn);
          toast("Token regenerated");
        } else if (act === "delete") {
          if (!window.confirm("Delete " + config.namespace + "+" + short + "?")) return;
          await api("DELETE", url);
          window.location.reload();
        } else if (act === "permissions") {
          const robot = await api("GET", url);
          const roles = {};
          (robot.permissions || []).forEach((p) => { roles[p.repository] = p.role; });
          $("#permissions-title").textContent = "Permissions of " + robot.name;
          $("#permissions-status").textContent = "";
          $$("#permissions-rows select").forEach((sel) => { sel.value = roles[sel.dataset.repo] || ""; sel.dataset.robot = short; });
          showModal($("#permissions-modal"), btn);
        }
      } catch (e) {
        toast("Failed: " + e.message);
      }
    });

    $$("#permissions-rows select").forEach((sel) => sel.addEventListener("change", async () => {
      const url = "/api/v1/repository/" + config.namespace + "/" + sel.dataset.repo + "/permissions/robot/" + sel.dataset.robot;
      const status = $("#permissions-status");
      try {
        if (sel.value) await api("PUT", url, { role: sel.value });
        else await api("DELETE", url).catch((e) => { if (e.status !== 404) throw e; });
        status.textContent = "Saved: " + (sel.value || "no access") + " on " + sel.dataset.repo;
      } catch (e) {
        status.textContent = "Not saved: " + e.message;
      }
    }));
    $("#permissions-modal").addEventListener("modal-closed", () => window.location.reload());
  }

  // Per-tag menus are <details>: close them on an outside click or Escape, as a menu would.
  document.addEventListener("click", (ev) => {
    $$("details.kebab[open]").forEach((d) => { if (!d.contains(ev.target)) d.open = false; });
  });
  document.addEventListener("keydown", (ev) => {
    if (ev.key !== "Escape" || openModal) return;
    $$("details.kebab[open]").forEach((d) => { d.open = false; d.querySelector("summary").focus(); });
  });

  initFetchModal();
  initTagActions();
  initSettings();
  initRobots();
})();
