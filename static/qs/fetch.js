/* The Fetch Tag modal: format, robot, platform, the command and the squash cache state. */
(function () {
  "use strict";
  const { $, config, api, toast, copyText, showModal, setDisabled, repoApi, human } = window.QS;

  function initFetchModal() {
    const modal = $("#fetch-modal");
    if (!modal) return;
    const format = $("#fetch-format");
    const robotSel = $("#fetch-robot");
    const platformSel = $("#fetch-platform");
    const compressed = $("#fetch-compressed");
    const client = $("#fetch-client");
    const byDigest = $("#fetch-by-digest");
    const commandEl = $("#command-data");
    const copyBtn = $("#copy-command");
    const feedback = $("#copy-feedback");
    const warning = $("#robot-warning");
    const note = $("#robot-note");
    let current = null; // {tag, digest, platforms}
    let robots = null;
    let seq = 0;
    let pollTimer = null;
    const ROBOT_FILTER_THRESHOLD = 8;

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
      const filterEl = $("#fetch-robot-filter");
      // Many robots: a type-ahead filter narrows the list, as Quay's picker does.
      $("#fetch-robot-filter-row").hidden = robots.length <= ROBOT_FILTER_THRESHOLD;
      const q = filterEl.value.trim().toLowerCase();
      const shown = q ? robots.filter((r) => r.name.toLowerCase().includes(q)) : robots;
      for (const r of shown) {
        const label = r.name + (r.can_read ? " — has read" : " — no read permission") + (r.token_expired ? " (token expired)" : "");
        const opt = new Option(label, r.short_name);
        opt.dataset.canRead = r.can_read ? "1" : "0";
        robotSel.add(opt);
      }
      if (!shown.length && !config.isPublic) robotSel.add(new Option(robots.length ? "No robot matches" : "No robot accounts", ""));
      const names = shown.map((r) => r.short_name);
      if (previous && names.includes(previous)) robotSel.value = previous;
      else if (!config.isPublic) {
        const reader = shown.find((r) => r.can_read && !r.token_expired) || shown.find((r) => r.can_read) || shown[0];
        if (reader) robotSel.value = reader.short_name;
      }
      $("#create-robot-inline").hidden = !config.isNamespaceAdmin;
      if (config.isNamespaceAdmin && !robots.some((r) => r.can_read)) $("#create-robot-inline").open = true;
    }

    // Squash formats take a robot; the archive ones (/c1/squash/) also a platform and the cache.
    function isSquash() { return config.squashFormats.includes(format.value); }
    function isArchive() { return config.archiveFormats.includes(format.value); }

    function showKubernetes(kube) {
      $("#kube-panel").hidden = !kube;
      if (!kube) return;
      const secret = kube.secret || kube.secret_command;
      $("#kube-secret").textContent = secret;
      $("#kube-secret-block").hidden = !secret;
      $("#kube-secret-label").textContent = kube.secret
        ? "Kubernetes pull secret (" + kube.secret_name + ")"
        : "Create the pull secret " + kube.secret_name + " (replace TOKEN)";
      $("#kube-pod").textContent = kube.pod;
    }

    async function update() {
      const mine = ++seq;
      feedback.textContent = "";
      $("#fetch-format-help").textContent = (config.formatHelp || {})[format.value] || "";
      const squash = isSquash();
      const archive = isArchive();
      $("#squash-options").hidden = !squash;
      $("#archive-options").hidden = !archive;
      $("#pull-options").hidden = format.value !== "squash-pull";
      $("#cache-panel").hidden = !archive;
      $("#platform-row").hidden = !(archive && current.platforms.length);
      commandEl.setAttribute("aria-busy", "true");
      setDisabled(copyBtn, true);
      $("#kube-panel").querySelectorAll(".copied").forEach((el) => { el.textContent = ""; });
      const params = new URLSearchParams({ kind: format.value });
      if (squash) {
        if (robotSel.value) params.set("robot", robotSel.value);
      }
      if (archive) {
        if (current.platforms.length && platformSel.value) params.set("platform", platformSel.value);
        if (compressed.checked) params.set("compression", "gzip");
      } else if (squash) {
        params.set("client", client.value);
        if (byDigest.checked) params.set("by", "digest");
      }
      try {
        const data = await api("GET", repoApi("/tag/" + current.tag + "/fetch?" + params));
        if (mine !== seq) return;
        commandEl.textContent = data.command;
        showKubernetes(data.kubernetes);
        warning.hidden = !data.warning;
        warning.textContent = data.warning || "";
        note.textContent = squash && data.robot && !data.token_included
          ? "Only organization administrators can see robot tokens: replace TOKEN with " + data.robot.name + "'s token."
          : "";
      } catch (e) {
        if (mine !== seq) return;
        commandEl.textContent = "";
        showKubernetes(null);
        warning.hidden = false;
        warning.textContent = "Could not build the command: " + e.message;
      }
      commandEl.setAttribute("aria-busy", "false");
      setDisabled(copyBtn, false);
      if (archive) refreshCache(mine);
    }

    function squashParams() {
      const p = new URLSearchParams();
      if (current.platforms.length && platformSel.value) p.set("platform", platformSel.value);
      p.set("format", format.value === "squash-oci" ? "oci" : "docker");
      p.set("compression", compressed.checked ? "gzip" : "none");
      return p;
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

    // One copy behaviour for the command and each Kubernetes block: the text of a <pre>, and
    // "Copied" in the status next to the button.
    async function copyBlock(btn, source, status) {
      const ok = await copyText(source.textContent);
      status.textContent = ok ? "Copied" : "Copy failed: select the text and copy it by hand";
      btn.classList.toggle("copied-state", ok);
    }
    copyBtn.addEventListener("click", () => copyBlock(copyBtn, commandEl, feedback));
    modal.querySelectorAll("[data-copy-block]").forEach((btn) => {
      btn.addEventListener("click", () => copyBlock(btn, $("#" + btn.dataset.copyBlock), btn.nextElementSibling));
    });

    [format, robotSel, platformSel, compressed, client, byDigest].forEach((el) => el.addEventListener("change", update));
    let filterTimer = null;
    $("#fetch-robot-filter").addEventListener("input", () => {
      clearTimeout(filterTimer);
      filterTimer = setTimeout(() => { fillRobots(); update(); }, 150);
    });

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
        squashable: row.dataset.squashable !== "0",
      };
      // Artifacts that are not images (a Helm chart, a signature) have nothing to squash.
      Array.from(format.options).forEach((opt) => {
        if (config.squashFormats.includes(opt.value)) opt.disabled = !current.squashable;
      });
      if (!current.squashable && isSquash()) format.value = "docker-tag";
      $("#fetch-not-image").hidden = current.squashable;
      $("#fetch-tag-name").textContent = current.tag;
      $("#fetch-robot-filter").value = "";
      platformSel.innerHTML = "";
      for (const p of current.platforms) platformSel.add(new Option(p, p));
      if (current.platforms.includes("linux/amd64")) platformSel.value = "linux/amd64";
      commandEl.textContent = "";
      showKubernetes(null);
      showModal(modal, btn, format);
      if (robots === null) await loadRobots();
      fillRobots();
      update();
    });
  }

  initFetchModal();
})();
