/* The Tags tab: selection, bulk actions, the per-tag menu and its dialogs. */
(function () {
  "use strict";
  const { $, $$, config, api, toast, copyText, showModal, hideModal, setDisabled, repoApi, errorText, human, download } = window.QS;

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


  initTagActions();
})();
