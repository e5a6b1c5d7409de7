/* The Settings tab: description, visibility, auto-prime, permissions, deletion. */
(function () {
  "use strict";
  const { $, $$, config, api, toast, repoApi, errorText } = window.QS;

  // Only the Settings tab has the form; repository.html loads this script on every tab.
  function initSettings(form) {
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
        errEl.textContent = e.status === 404 ? "No such robot in " + config.namespace : errorText(e);
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

  const settingsForm = $("#settings-form");
  if (settingsForm) initSettings(settingsForm);
})();
