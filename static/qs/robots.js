/* The Robot Accounts page: create, the credentials dialog (tabs, downloads, regenerate),
   permissions, delete, the organization's token expiry policy. */
(function () {
  "use strict";
  const { $, $$, config, api, toast, showModal, setDisabled, errorText, download } = window.QS;

  function formatDate(ts) {
    if (ts == null) return "never";
    return new Date(ts * 1000).toISOString().replace("T", " ").slice(0, 16) + " UTC";
  }

  /* ---- the credentials dialog: Quay's tabs ---- */
  function initCredentials(base) {
    const modal = $("#credentials-modal");
    if (!modal) return null;
    const tabs = $$('[role="tab"]', modal);
    let creds = null;

    function select(tab, focus) {
      tabs.forEach((t) => {
        const on = t === tab;
        t.setAttribute("aria-selected", on ? "true" : "false");
        t.tabIndex = on ? 0 : -1;
        $("#" + t.getAttribute("aria-controls")).hidden = !on;
      });
      if (focus) tab.focus();
    }
    tabs.forEach((t, i) => {
      t.addEventListener("click", () => select(t, false));
      t.addEventListener("keydown", (ev) => {
        const step = { ArrowRight: 1, ArrowLeft: -1 }[ev.key];
        if (step) { ev.preventDefault(); select(tabs[(i + step + tabs.length) % tabs.length], true); }
        else if (ev.key === "Home") { ev.preventDefault(); select(tabs[0], true); }
        else if (ev.key === "End") { ev.preventDefault(); select(tabs[tabs.length - 1], true); }
      });
    });

    function fill(data) {
      creds = data;
      $("#credentials-title").textContent = "Credentials for " + data.name;
      $("#cred-username").value = data.name;
      $("#cred-token").value = data.token;
      $("#cred-expires").textContent = formatDate(data.token_expires) + (data.token_expired ? " (expired)" : "");
      const expired = $("#cred-expired");
      expired.hidden = !data.token_expired;
      expired.textContent = data.token_expired
        ? "This token expired on " + formatDate(data.token_expires) + ": registry logins and pulls with it are refused. Regenerate it to issue a new one."
        : "";
      $("#cred-login").value = data.docker_login;
      $("#cred-podman-login").value = data.podman_login;
      $("#cred-docker-config").textContent = data.docker_config;
      $("#cred-kube-secret").textContent = data.kubernetes_secret;
      $("#cred-download-kube").textContent = "Download " + data.kubernetes_secret_filename;
      $("#cred-kubectl-apply").value = data.kubectl_apply;
      $("#cred-kubectl-create").value = data.kubectl_create_secret;
      $("#cred-regenerate-confirm").hidden = true;
    }

    $("#cred-download-config").addEventListener("click", () =>
      download(creds.docker_config_filename, creds.docker_config, "application/json"));
    $("#cred-download-kube").addEventListener("click", () =>
      download(creds.kubernetes_secret_filename, creds.kubernetes_secret, "application/yaml"));

    $("#cred-regenerate").addEventListener("click", () => {
      const policy = config.robotTokenDays ? " The new token expires after " + config.robotTokenDays + " days." : "";
      $("#cred-regenerate-warning").textContent = "Regenerate the token of " + creds.name +
        "? The current token stops working at once: every docker login, config.json and Kubernetes secret that holds it must be updated." + policy;
      $("#cred-regenerate-confirm").hidden = false;
      $("#cred-regenerate-yes").focus();
    });
    $("#cred-regenerate-no").addEventListener("click", () => {
      $("#cred-regenerate-confirm").hidden = true;
      $("#cred-regenerate").focus();
    });
    $("#cred-regenerate-yes").addEventListener("click", async () => {
      const btn = $("#cred-regenerate-yes");
      setDisabled(btn, true);
      try {
        const short = creds.name.split("+")[1];
        fill(await api("POST", base + "/" + short + "/regenerate", {}));
        toast("Token regenerated");
        $("#cred-regenerate").focus();
        modal.dataset.changed = "1";
      } catch (e) {
        toast("Not regenerated: " + errorText(e));
      }
      setDisabled(btn, false);
    });
    modal.addEventListener("modal-closed", () => {
      if (modal.dataset.changed) window.location.reload();
    });

    return async function open(short, from) {
      fill(await api("GET", base + "/" + short + "/credentials"));
      select(tabs[0], false);
      showModal(modal, from, tabs[0]);
    };
  }

  function initRobots() {
    const table = $("#robots-table");
    if (!table) return;
    const base = "/api/v1/organization/" + config.namespace + "/robots";
    const openCredentials = initCredentials(base);

    $("#create-robot-form").addEventListener("submit", async (ev) => {
      ev.preventDefault();
      const errEl = $("#robot-form-error");
      errEl.hidden = true;
      const short = $("#new-robot-name").value.trim();
      try {
        await api("PUT", base + "/" + encodeURIComponent(short), { description: $("#new-robot-description").value });
      } catch (e) {
        errEl.hidden = false;
        errEl.textContent = e.body && e.body.name ? [].concat(e.body.name).join(" ") : errorText(e);
        return;
      }
      window.location.reload();
    });

    table.addEventListener("click", async (ev) => {
      const btn = ev.target.closest("[data-action]");
      if (!btn) return;
      const short = btn.closest("tr").dataset.robot;
      const url = base + "/" + short;
      const act = btn.dataset.action;
      try {
        if (act === "credentials") {
          await openCredentials(short, btn);
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
        toast("Failed: " + errorText(e));
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
        status.textContent = "Not saved: " + errorText(e);
      }
    }));
    $("#permissions-modal").addEventListener("modal-closed", () => window.location.reload());

    $("#robot-policy-form").addEventListener("submit", async (ev) => {
      ev.preventDefault();
      const raw = $("#robot-token-days").value.trim();
      const status = $("#robot-policy-status");
      try {
        const data = await api("PUT", "/api/v1/organization/" + config.namespace + "/robotpolicy",
          { robot_token_days: raw ? parseInt(raw, 10) : null });
        config.robotTokenDays = data.robot_token_days;
        status.textContent = data.robot_token_days
          ? "Saved: new and regenerated tokens expire after " + data.robot_token_days + " days."
          : "Saved: tokens never expire unless an expiry is chosen.";
      } catch (e) {
        status.textContent = "Not saved: " + errorText(e);
      }
    });
  }

  initRobots();
})();
