/* The Tags tab: selection that survives filtering and paging (page, all matching tags, all tags
   of one manifest), bulk delete and expiration, the per-tag menu and its dialogs (with the
   warning that adding an existing tag moves it). The filter and sorting are live (app.js). */
(function () {
  "use strict";
  const { $, $$, api, showModal, setDisabled, repoApi, errorText } = window.QS;

  function initTagActions() {
    const modal = $("#tag-action-modal");
    if (!modal) return;
    const selected = new Set();
    const pageBoxes = () => $$(".tag-select");
    const total = () => parseInt(($("#tags-table") || {}).dataset.total || "0", 10);

    function sync() {
      pageBoxes().forEach((b) => { b.checked = selected.has(b.value); });
      const boxes = pageBoxes();
      const all = $("#select-all");
      if (all) all.checked = boxes.length > 0 && boxes.every((b) => b.checked);
      const n = selected.size;
      const del = $("#delete-selected");
      const exp = $("#expire-selected");
      if (del) { del.disabled = n === 0; del.textContent = n ? "Delete " + n + " selected" : "Delete selected"; }
      if (exp) { exp.disabled = n === 0; exp.textContent = n ? "Change expiration of " + n : "Change expiration"; }
      const banner = $("#select-banner");
      const count = total();
      banner.innerHTML = "";
      if (n && n >= count && count > boxes.length) {
        banner.append("All " + count + " tags are selected. ");
        banner.append(bannerButton("Clear selection", () => { selected.clear(); sync(); }));
      } else if (all && all.checked && count > boxes.length) {
        banner.append("All " + boxes.length + " tags on this page are selected. ");
        banner.append(bannerButton("Select all " + count + " tags", () => selectNames({})));
      }
      banner.hidden = !banner.childNodes.length;
    }

    function bannerButton(text, onClick) {
      const b = document.createElement("button");
      b.type = "button";
      b.className = "btn btn-link";
      b.textContent = text;
      b.addEventListener("click", onClick);
      return b;
    }

    async function selectNames(params) {
      const query = new URLSearchParams(params);
      const filter = $("#tag-filter").value.trim();
      if (filter && !params.manifest_digest) query.set("filter", filter);
      const data = await api("GET", repoApi("/tag/names/?" + query));
      data.tags.forEach((t) => selected.add(t));
      sync();
    }

    document.addEventListener("change", (ev) => {
      if (ev.target.id === "select-all") {
        pageBoxes().forEach((b) => { if (ev.target.checked) selected.add(b.value); else selected.delete(b.value); });
        sync();
      } else if (ev.target.classList.contains("tag-select")) {
        if (ev.target.checked) selected.add(ev.target.value); else selected.delete(ev.target.value);
        sync();
      }
    });
    document.addEventListener("live-refreshed", sync);

    document.addEventListener("click", async (ev) => {
      const item = ev.target.closest("[data-select]");
      if (!item) return;
      const menu = item.closest("details");
      if (menu) menu.open = false;
      const kind = item.dataset.select;
      if (kind === "none") { selected.clear(); sync(); }
      else if (kind === "page") { pageBoxes().forEach((b) => selected.add(b.value)); sync(); }
      else if (kind === "all") await selectNames({});
      else await selectNames({ manifest_digest: item.dataset.digest });
    });

    // Sorting keeps the filter typed so far: follow the header link with the live value.
    document.addEventListener("click", (ev) => {
      const link = ev.target.closest("a[data-sort-href]");
      if (!link) return;
      const url = new URL(link.href);
      url.searchParams.set("filter", $("#tag-filter").value.trim());
      link.href = url.toString();
    });

    /* ---- the tag dialog: add / move, expiration, delete (one tag or the selection) ---- */
    let action = null;
    let tags = [];
    let digest = "";
    let existing = null; // the tag the typed name would move: {name, manifest_digest}
    let checkSeq = 0;

    function toLocalInput(iso) {
      if (!iso) return "";
      return new Date(iso).toISOString().slice(0, 16); // UTC, as the label says
    }

    function open(kind, names, dig, from, expiration) {
      action = kind; tags = names; digest = dig; existing = null;
      $$("[data-for]", modal).forEach((el) => { el.hidden = el.dataset.for !== kind; });
      $("#tag-action-error").hidden = true;
      $("#tag-action-move").hidden = true;
      const many = names.length > 1;
      const titles = {
        add: "Add tag to " + names[0],
        expiration: many ? "Change expiration of " + names.length + " tags" : "Change expiration of " + names[0],
        delete: many ? "Delete " + names.length + " tags" : "Delete tags",
      };
      $("#tag-action-title").textContent = titles[kind];
      const submit = $("#tag-action-submit");
      submit.textContent = kind === "delete" ? "Delete" : "Save";
      submit.className = "btn " + (kind === "delete" ? "btn-danger" : "btn-primary");
      $("#tag-action-confirm").textContent = "Delete " + (many && names.length > 20 ? names.length + " tags" : names.join(", ")) + "? The tag history keeps a record.";
      $("#tag-action-which").textContent = many ? names.length + " tags: " + names.slice(0, 10).join(", ") + (names.length > 10 ? ", …" : "") : "";
      $("#tag-action-target").textContent = kind === "add" ? "The new tag will point to " + dig + "." : "";
      $("#tag-action-newname").value = "";
      $("#tag-action-expiration").value = toLocalInput(expiration);
      const focus = kind === "add" ? $("#tag-action-newname") : kind === "expiration" ? $("#tag-action-expiration") : submit;
      showModal(modal, from, focus);
    }

    async function checkMove() {
      const mine = ++checkSeq;
      const name = $("#tag-action-newname").value.trim();
      const warn = $("#tag-action-move");
      const submit = $("#tag-action-submit");
      existing = null;
      if (!name) { warn.hidden = true; submit.textContent = "Save"; return; }
      let found = null;
      try { found = await api("GET", repoApi("/tag/" + encodeURIComponent(name))); } catch (e) { found = null; }
      if (mine !== checkSeq) return;
      existing = found;
      if (found && found.manifest_digest !== digest) {
        warn.textContent = "A tag named " + name + " already exists and points to " + found.manifest_digest +
          ". Saving will move " + name + " to " + digest + " (the history keeps the old one).";
        warn.hidden = false;
        submit.textContent = "Move tag";
      } else if (found) {
        warn.textContent = name + " already points to this manifest: nothing changes.";
        warn.hidden = false;
        submit.textContent = "Save";
      } else {
        warn.hidden = true;
        submit.textContent = "Save";
      }
    }
    let moveTimer = null;
    $("#tag-action-newname").addEventListener("input", () => { clearTimeout(moveTimer); moveTimer = setTimeout(checkMove, 200); });

    document.addEventListener("click", (ev) => {
      const item = ev.target.closest("[data-tag-action]");
      if (!item) return;
      const row = item.closest("tr");
      const details = item.closest("details");
      if (details) details.open = false;
      open(item.dataset.tagAction, [row.dataset.tag], row.dataset.digest, details ? details.querySelector("summary") : item, row.dataset.expiration);
    });
    document.addEventListener("click", (ev) => {
      const btn = ev.target.closest("#delete-selected, #expire-selected");
      if (!btn) return;
      open(btn.id === "delete-selected" ? "delete" : "expiration", Array.from(selected).sort(), "", btn, "");
    });

    $("#tag-action-form").addEventListener("submit", async (ev) => {
      ev.preventDefault();
      const submit = $("#tag-action-submit");
      try {
        if (action === "add") {
          const name = $("#tag-action-newname").value.trim();
          const warned = !$("#tag-action-move").hidden;
          clearTimeout(moveTimer);
          await checkMove();
          // A move is only made after its warning was on screen when Save was pressed.
          if (existing && existing.manifest_digest !== digest && !warned) return;
          await api("PUT", repoApi("/tag/" + encodeURIComponent(name)), { manifest_digest: digest });
        } else if (action === "expiration") {
          const v = $("#tag-action-expiration").value;
          const when = v ? Math.floor(Date.parse(v + "Z") / 1000) : null;
          if (tags.length === 1) await api("PUT", repoApi("/tag/" + tags[0]), { expiration: when });
          else await api("POST", repoApi("/tag/bulk/"), { tags: tags, action: "expiration", expiration: when });
        } else if (tags.length === 1) {
          await api("DELETE", repoApi("/tag/" + tags[0]));
        } else {
          await api("POST", repoApi("/tag/bulk/"), { tags: tags, action: "delete" });
        }
      } catch (e) {
        const el = $("#tag-action-error");
        el.hidden = false;
        el.textContent = errorText(e);
        return;
      }
      setDisabled(submit, true);
      window.location.reload();
    });
    sync();
  }

  initTagActions();
})();
