/* The Robot Accounts page: create, credentials, regenerate, permissions, delete. */
(function () {
  "use strict";
  const { $, $$, config, api, toast, copyText, showModal, hideModal, setDisabled, repoApi, errorText, human, download } = window.QS;

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


  initRobots();
})();
