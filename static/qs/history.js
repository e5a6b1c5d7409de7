/* The Tag History tab: put a tag back to an earlier manifest, after a confirmation that names
   the tag and both digests. Filtering and "Show future" are live filters (app.js). */
(function () {
  "use strict";
  const { $, api, showModal, setDisabled, repoApi, errorText } = window.QS;

  function initHistory() {
    const modal = $("#restore-modal");
    if (!modal) return;
    let target = null;
    document.addEventListener("click", (ev) => {
      const btn = ev.target.closest(".restore-tag");
      if (!btn) return;
      target = { tag: btn.dataset.tag, digest: btn.dataset.digest, current: btn.dataset.current, verb: btn.dataset.verb };
      $("#restore-title").textContent = target.verb + " tag " + target.tag;
      $("#restore-text").textContent = target.current
        ? "Move " + target.tag + " to " + target.digest + "? It points to " + target.current + " now."
        : "Restore " + target.tag + " to " + target.digest + "? The tag does not exist now.";
      $("#restore-confirm").textContent = target.verb;
      $("#restore-error").hidden = true;
      showModal(modal, btn, $("#restore-confirm"));
    });
    $("#restore-confirm").addEventListener("click", async () => {
      const btn = $("#restore-confirm");
      setDisabled(btn, true);
      try {
        await api("POST", repoApi("/tag/" + encodeURIComponent(target.tag) + "/restore"), { manifest_digest: target.digest });
      } catch (e) {
        const el = $("#restore-error");
        el.hidden = false;
        el.textContent = errorText(e);
        setDisabled(btn, false);
        return;
      }
      window.location.reload();
    });
  }

  initHistory();
})();
