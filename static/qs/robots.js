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

  /* ---- create a robot in steps: name, description, repositories with roles, review ---- */
  function initWizard(base, openCredentials) {
    const modal = $("#create-robot-modal");
    const steps = $$("[data-step]", modal);
    const labels = $$("[data-step-label]", modal);
    const errEl = $("#robot-form-error");
    let step = 1;

    function roles() {
      return $$("#new-robot-repos select").filter((s) => s.value).map((s) => ({ repository: s.dataset.repo, role: s.value }));
    }

    function show(n) {
      step = n;
      steps.forEach((el) => { el.hidden = el.dataset.step !== String(n); });
      labels.forEach((li) => {
        const k = parseInt(li.dataset.stepLabel, 10);
        if (k === n) li.setAttribute("aria-current", "step"); else li.removeAttribute("aria-current");
        li.classList.toggle("done", k < n);
      });
      $("#wizard-back").disabled = n === 1;
      $("#wizard-next").hidden = n === steps.length;
      $("#wizard-create").hidden = n !== steps.length;
      if (n === steps.length) {
        const review = $("#new-robot-review");
        review.innerHTML = "";
        const granted = roles();
        const rows = [
          ["Name", config.namespace + "+" + $("#new-robot-name").value.trim()],
          ["Description", $("#new-robot-description").value.trim() || "—"],
          ["Repositories", granted.length ? granted.map((g) => g.repository + " (" + g.role + ")").join(", ") : "none"],
        ];
        rows.forEach(([k, v]) => {
          const dt = document.createElement("dt"); dt.textContent = k;
          const dd = document.createElement("dd"); dd.textContent = v;
          review.append(dt, dd);
        });
      }
      const first = steps[n - 1].querySelector("input, textarea, select");
      if (first) first.focus();
    }

    function valid() {
      errEl.hidden = true;
      const name = $("#new-robot-name");
      if (step === 1 && !name.checkValidity()) {
        errEl.hidden = false;
        errEl.textContent = "Robot name: lower-case letters, digits and underscores, starting with a letter.";
        name.focus();
        return false;
      }
      return true;
    }

    $("#create-robot").addEventListener("click", (ev) => {
      $("#create-robot-form").reset();
      $$("#new-robot-repos tr").forEach((tr) => { tr.hidden = false; });
      errEl.hidden = true;
      showModal(modal, ev.currentTarget);
      show(1);
    });
    $("#wizard-next").addEventListener("click", () => { if (valid()) show(step + 1); });
    $("#wizard-back").addEventListener("click", () => show(step - 1));
    $("#new-robot-repo-filter").addEventListener("input", (ev) => {
      const q = ev.target.value.trim().toLowerCase();
      $$("#new-robot-repos tr[data-repo]").forEach((tr) => { tr.hidden = !!q && !tr.dataset.repo.includes(q); });
    });
    // Enter in a field goes to the next step rather than submitting half a robot.
    $("#create-robot-form").addEventListener("keydown", (ev) => {
      if (ev.key === "Enter" && ev.target.tagName === "INPUT" && step < steps.length) {
        ev.preventDefault();
        if (valid()) show(step + 1);
      }
    });
    $("#create-robot-form").addEventListener("submit", async (ev) => {
      ev.preventDefault();
      const short = $("#new-robot-name").value.trim();
      const body = { description: $("#new-robot-description").value.trim() };
      const date = $("#new-robot-expires").value;
      if (date) body.token_expiration = Math.floor(Date.parse(date + "T23:59:59Z") / 1000);
      const btn = $("#wizard-create");
      setDisabled(btn, true);
      try {
        await api("PUT", base + "/" + encodeURIComponent(short), body);
        for (const g of roles()) {
          await api("PUT", "/api/v1/repository/" + config.namespace + "/" + g.repository + "/permissions/robot/" + short, { role: g.role });
        }
      } catch (e) {
        errEl.hidden = false;
        errEl.textContent = e.body && e.body.name ? [].concat(e.body.name).join(" ") : errorText(e);
        setDisabled(btn, false);
        if (e.body && e.body.name) show(1);
        return;
      }
      setDisabled(btn, false);
      toast("Created " + config.namespace + "+" + short);
      $("#credentials-modal").dataset.changed = "1"; // closing the credentials reloads the list
      await openCredentials(short, $("#create-robot"));
    });
  }

  /* ---- select robots, delete them together ---- */
  function initBulkDelete(base) {
    const selected = new Set();
    const btn = $("#delete-robots");
    function sync() {
      $$(".robot-select").forEach((b) => { b.checked = selected.has(b.value); });
      const boxes = $$(".robot-select");
      const all = $("#select-all-robots");
      if (all) all.checked = boxes.length > 0 && boxes.every((b) => b.checked);
      btn.disabled = selected.size === 0;
      btn.textContent = selected.size ? "Delete " + selected.size + " selected" : "Delete selected";
    }
    document.addEventListener("change", (ev) => {
      if (ev.target.id === "select-all-robots") {
        $$(".robot-select").forEach((b) => { if (ev.target.checked) selected.add(b.value); else selected.delete(b.value); });
      } else if (ev.target.classList.contains("robot-select")) {
        if (ev.target.checked) selected.add(ev.target.value); else selected.delete(ev.target.value);
      } else return;
      sync();
    });
    document.addEventListener("live-refreshed", sync);
    btn.addEventListener("click", async () => {
      const names = Array.from(selected).sort();
      if (!window.confirm("Delete " + names.map((n) => config.namespace + "+" + n).join(", ") + "? Their tokens stop working at once.")) return;
      for (const short of names) {
        try { await api("DELETE", base + "/" + short); }
        catch (e) { if (e.status !== 404) { toast("Not deleted: " + short + ": " + errorText(e)); return; } }
      }
      window.location.reload();
    });
  }

  function initRobots() {
    const table = $("#robots-table");
    if (!table) return;
    const base = "/api/v1/organization/" + config.namespace + "/robots";
    const openCredentials = initCredentials(base);

    initWizard(base, openCredentials);
    initBulkDelete(base);

    document.addEventListener("click", async (ev) => {
      const btn = ev.target.closest("#robots-table [data-action]");
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
