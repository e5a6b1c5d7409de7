"""The Fetch Tag modal in Chromium against the live stack: the copied command really works."""

from __future__ import annotations

import subprocess

import requests
from playwright.sync_api import expect

from tests.squash.dockerload import run_pipeline
from tests.web.browser import SCREENSHOTS, sign_in


def run_copied(copied: str, dockerd) -> tuple[subprocess.CompletedProcess, str]:
    """Run a command exactly as copied from the modal; return the run and the loaded image."""
    loaded = run_pipeline(copied, dockerd)
    image = loaded.stdout.strip().splitlines()[-1].removeprefix("Loaded image: ").strip()
    return loaded, image


def open_fetch_modal(page, stack, ui_data, tag: str = "v1"):
    page.goto(f"{stack.url}/repository/{ui_data.repo}?tab=tags")
    row = page.locator(f'tr[data-tag="{tag}"]')
    row.get_by_role("button", name="Fetch Tag").click()
    dialog = page.get_by_role("dialog", name=f"Fetch Tag {tag}")
    expect(dialog).to_be_visible()
    return dialog


def choose_squash(page, robot_short: str, fmt: str = "squash-docker") -> str:
    page.get_by_label("Image Format").select_option(fmt)
    page.get_by_label("Robot account").select_option(robot_short)
    command = page.locator("#command-data")
    expect(command).to_have_attribute("aria-busy", "false")
    expect(command).to_contain_text(f"+{robot_short}:")
    return command.inner_text()


def test_it_copies_a_squashed_command_that_loads_and_runs(browser_page, stack, ui_data, dockerd):
    page = browser_page
    sign_in(page, stack.url, ui_data.admin)
    page.goto(f"{stack.url}/repository/{ui_data.repo}?tab=tags")
    # Other tests of this session may add tags; v1 and stable are always there.
    expect(
        page.locator('tr[data-tag="v1"]').get_by_role("button", name="Fetch Tag")
    ).to_be_visible()
    expect(page.locator('tr[data-tag="stable"]')).to_be_visible()
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / "tags.png"), full_page=True)

    open_fetch_modal(page, stack, ui_data)
    shown = choose_squash(page, "deployer")
    assert shown == (
        f"curl -fL -u '{ui_data.reader_robot}:{ui_data.reader_token}' "
        f"'{stack.url}/c1/squash/{ui_data.repo}/v1' | docker load"
    )
    expect(page.locator("#robot-warning")).to_be_hidden()
    page.screenshot(path=str(SCREENSHOTS / "fetch-tag-modal.png"))

    page.get_by_role("button", name="Copy Command").click()
    expect(page.locator("#copy-feedback")).to_have_text("Copied")
    copied = page.evaluate("navigator.clipboard.readText()")
    assert copied == shown

    loaded, image = run_copied(copied, dockerd)
    assert image.endswith(f"{ui_data.repo}:v1"), loaded.stdout
    ran = dockerd.run(
        image,
        "sh",
        "-c",
        "test -f /opt/app/main2.py && test ! -e /opt/app/main.py && python3 -c 'print(6*7)'",
    )
    assert ran.stdout.decode().strip() == "42"

    # The modal reports the cache the download just filled.
    page.get_by_label("Compressed download (gzip)").check()
    page.get_by_label("Compressed download (gzip)").uncheck()
    expect(page.locator("#cache-state")).to_contain_text("cached", timeout=60_000)


def test_it_warns_before_copying_when_the_robot_cannot_read(browser_page, stack, ui_data):
    page = browser_page
    sign_in(page, stack.url, ui_data.admin)
    open_fetch_modal(page, stack, ui_data)
    choose_squash(page, "auditor")
    warning = page.locator("#robot-warning")
    expect(warning).to_be_visible()
    expect(warning).to_contain_text("does not have read permission")
    option = page.locator("#fetch-robot option[value='auditor']")
    expect(option).to_contain_text("no read permission")
    page.keyboard.press("Escape")
    expect(page.get_by_role("dialog")).to_be_hidden()


def test_it_creates_a_robot_with_read_from_the_modal(browser_page, stack, ui_data):
    page = browser_page
    sign_in(page, stack.url, ui_data.admin)
    open_fetch_modal(page, stack, ui_data)
    page.get_by_label("Image Format").select_option("squash-docker")
    page.get_by_text("Create a robot account with read on this repository").click()
    page.get_by_label("Robot name").fill("fromdialog")
    page.get_by_role("button", name="Create robot").click()
    expect(page.get_by_label("Robot account")).to_have_value("fromdialog")
    command = page.locator("#command-data")
    expect(command).to_contain_text(f"{ui_data.org}+fromdialog:")
    expect(page.locator("#robot-warning")).to_be_hidden()
    token = command.inner_text().split(f"{ui_data.org}+fromdialog:")[1].split("'")[0]
    # The new robot can download at once (the first bytes are enough to know).
    with requests.get(
        f"{stack.url}/c1/squash/{ui_data.repo}/v1",
        auth=(f"{ui_data.org}+fromdialog", token),
        stream=True,
        timeout=60,
    ) as resp:
        assert resp.status_code == 200
        assert next(resp.iter_content(512))


def test_it_shows_a_member_the_command_without_any_token(browser_page, stack, ui_data):
    page = browser_page
    sign_in(page, stack.url, ui_data.member)
    open_fetch_modal(page, stack, ui_data)
    shown = choose_squash(page, "deployer")
    assert f"-u '{ui_data.reader_robot}:TOKEN'" in shown
    expect(page.locator("#robot-note")).to_contain_text("Only organization administrators")
    assert ui_data.reader_token not in page.content()


def test_it_traps_focus_inside_the_modal(browser_page, stack, ui_data):
    page = browser_page
    sign_in(page, stack.url, ui_data.admin)
    open_fetch_modal(page, stack, ui_data)
    for _ in range(25):
        page.keyboard.press("Tab")
        inside = page.evaluate(
            "document.getElementById('fetch-modal').contains(document.activeElement)"
        )
        assert inside
    page.keyboard.press("Escape")
    expect(page.get_by_role("dialog")).to_be_hidden()
    focused = page.evaluate("document.activeElement.getAttribute('aria-label')")
    assert focused == "Fetch Tag"


def test_it_keeps_focus_in_the_modal_when_the_focused_button_turns_disabled(
    browser_page, stack, ui_data
):
    page = browser_page
    sign_in(page, stack.url, ui_data.admin)
    open_fetch_modal(page, stack, ui_data)
    inside = "document.getElementById('fetch-modal').contains(document.activeElement)"
    copy = page.get_by_role("button", name="Copy Command")
    expect(copy).to_be_enabled()
    copy.focus()
    # A new choice rebuilds the command: Copy Command is disabled until the new one is back.
    # Chromium moves focus off a disabled element at the next rendering update; look then.
    state = page.evaluate(
        """async () => {
            document.getElementById('fetch-format').dispatchEvent(new Event('change'));
            const disabled = document.getElementById('copy-command').disabled;
            document.activeElement.getBoundingClientRect();  // a rendering update is due
            await new Promise((done) => requestAnimationFrame(() => setTimeout(done, 0)));
            return [disabled,
                    document.getElementById('fetch-modal').contains(document.activeElement)];
        }"""
    )
    assert state == [True, True]
    page.keyboard.press("Tab")
    assert page.evaluate(inside)
    page.keyboard.press("Shift+Tab")
    assert page.evaluate(inside)


def test_it_copies_a_docker_pull_by_digest_that_pulls(browser_page, stack, ui_data, dockerd):
    page = browser_page
    sign_in(page, stack.url, ui_data.admin)
    open_fetch_modal(page, stack, ui_data, tag="stable")
    page.get_by_label("Image Format").select_option("docker-digest")
    command = page.locator("#command-data")
    expect(command).to_have_attribute("aria-busy", "false")
    expect(page.locator("#squash-options")).to_be_hidden()
    page.get_by_role("button", name="Copy Command").click()
    expect(page.locator("#copy-feedback")).to_have_text("Copied")
    copied = page.evaluate("navigator.clipboard.readText()")
    assert copied.startswith(f"docker pull {stack.host}/{ui_data.repo}@sha256:")
    dockerd.docker(
        "login",
        "-u",
        ui_data.reader_robot,
        "--password-stdin",
        stack.host,
        input=ui_data.reader_token.encode(),
    )
    pulled = subprocess.run(
        ["bash", "-c", copied], env=dockerd.env, capture_output=True, text=True, timeout=600
    )
    assert pulled.returncode == 0, pulled.stderr[-3000:]
    ran = dockerd.run(
        copied.split()[-1],
        "python3",
        "-c",
        "print(6*7)",
    )
    assert ran.stdout.decode().strip() == "42"


MAKE_INDEX = """
import json
from quaysquash.accounts.models import Repository
from quaysquash.registry import mediatypes
from quaysquash.registry.manifests import set_tag, store_manifest
from quaysquash.registry.models import Tag
repo = Repository.objects.get(namespace__name={org!r}, name="web")
child = Tag.objects.active().get(repository=repo, name="v1").manifest
entries = [
    {{"mediaType": child.media_type, "digest": child.digest, "size": child.size,
      "platform": {{"os": "linux", "architecture": arch}}}}
    for arch in ("amd64", "arm64")
]
raw = json.dumps({{"schemaVersion": 2, "mediaType": mediatypes.OCI_INDEX,
                  "manifests": entries}}).encode()
set_tag(repo, "multi", store_manifest(repo, raw))
"""


def test_it_offers_platforms_and_gzip_for_a_multi_arch_tag(browser_page, stack, ui_data, dockerd):
    # Both platforms name the same image: what matters is that the chosen one is requested.
    stack.python(MAKE_INDEX.format(org=ui_data.org))
    page = browser_page
    sign_in(page, stack.url, ui_data.admin)
    page.goto(f"{stack.url}/repository/{ui_data.repo}?tab=tags")
    row = page.locator('tr[data-tag="multi"]')
    expect(row).to_contain_text("linux/amd64")
    expect(row).to_contain_text("linux/arm64")
    row.get_by_role("button", name="Fetch Tag").click()
    page.get_by_label("Image Format").select_option("squash-docker")
    platform = page.get_by_label("Platform")
    expect(platform).to_have_value("linux/amd64")
    platform.select_option("linux/arm64")
    page.get_by_label("Compressed download (gzip)").check()
    command = page.locator("#command-data")
    expect(command).to_contain_text("?platform=linux/arm64&compression=gzip' | docker load")
    page.get_by_role("button", name="Copy Command").click()
    expect(page.locator("#copy-feedback")).to_have_text("Copied")
    copied = page.evaluate("navigator.clipboard.readText()")
    _, image = run_copied(copied, dockerd)
    ran = dockerd.run(image, "python3", "-c", "print(6*7)")
    assert ran.stdout.decode().strip() == "42"


def test_it_filters_the_robot_picker_as_you_type_when_there_are_many(browser_page, stack, ui_data):
    stack.python(
        "from quaysquash.accounts.models import Namespace, RobotAccount\n"
        f"ns = Namespace.objects.get(name={ui_data.org!r})\n"
        "for i in range(10):\n"
        "    RobotAccount.objects.get_or_create(namespace=ns, short_name=f'picker{i:02d}')\n"
    )
    page = browser_page
    sign_in(page, stack.url, ui_data.admin)
    open_fetch_modal(page, stack, ui_data)
    page.get_by_label("Image Format").select_option("squash-docker")
    box = page.get_by_label("Filter robots")
    expect(box).to_be_visible()
    box.fill("picker07")
    robot = page.get_by_label("Robot account")
    expect(robot.locator("option")).to_have_count(1)
    expect(robot).to_have_value("picker07")
    expect(page.locator("#command-data")).to_contain_text(f"{ui_data.org}+picker07:")
    expect(page.locator("#robot-warning")).to_contain_text("does not have read permission")
    box.fill("deployer")
    expect(robot).to_have_value("deployer")
    expect(page.locator("#robot-warning")).to_be_hidden()


def test_it_offers_no_squash_for_an_artifact_and_explains_each_format(browser_page, stack, ui_data):
    stack.python(
        "import json\n"
        "from quaysquash.accounts import lookups\n"
        "from quaysquash.registry import mediatypes\n"
        "from quaysquash.registry.manifests import store_manifest\n"
        "from tests.web import factories as f\n"
        f"r = lookups.repository({ui_data.repo!r})\n"
        "config = f.blob(r, b'{}', 'application/vnd.cncf.helm.config.v1+json')\n"
        "raw = json.dumps({'schemaVersion': 2, 'mediaType': mediatypes.OCI_MANIFEST,"
        " 'config': config, 'layers': []}).encode()\n"
        "f.tag(r, 'helm-chart', store_manifest(r, raw))\n"
    )
    page = browser_page
    sign_in(page, stack.url, ui_data.admin)
    open_fetch_modal(page, stack, ui_data, tag="helm-chart")
    expect(page.locator("#fetch-not-image")).to_be_visible()
    fmt = page.get_by_label("Image Format")
    expect(fmt.locator('option[value="squash-docker"]')).to_be_disabled()
    expect(fmt.locator('option[value="squash-oci"]')).to_be_disabled()
    expect(page.locator("#fetch-format-help")).to_contain_text("the tag may move later")
    fmt.select_option("docker-digest")
    expect(page.locator("#fetch-format-help")).to_contain_text("exactly this manifest")
    page.keyboard.press("Escape")

    # An image offers them again, with what they do.
    open_fetch_modal(page, stack, ui_data, tag="v1")
    expect(page.locator("#fetch-not-image")).to_be_hidden()
    fmt.select_option("squash-docker")
    expect(page.locator("#fetch-format-help")).to_contain_text(
        "single layer with all layers applied"
    )
