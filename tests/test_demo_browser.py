"""The demo site, started by demo/run.py as a newcomer would, driven in headless Chromium.

The browser keeps and sends the session cookie itself; every step is checked against the item
in DynamoDB Local. Chromium and ChromeDriver are Debian's (scripts/ensure-chromium).
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from selenium import webdriver
from selenium.common.exceptions import WebDriverException
from selenium.webdriver.chrome.options import Options
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import Select, WebDriverWait

from pynamo_sessions.testing import free_port, wait_until_up

pytestmark = pytest.mark.browser
ROOT = Path(__file__).resolve().parent.parent
TABLE = "demo-browser-test"


@pytest.fixture(scope="module")
def demo_site(dynamodb_local: str) -> Iterator[str]:
    port = free_port()
    env = {k: v for k, v in os.environ.items() if k not in ("DJANGO_SETTINGS_MODULE", "DYNAMODB_REGION")}
    env.update(DYNAMODB_ENDPOINT=dynamodb_local, DEMO_SESSIONS_TABLE=TABLE, PYTHONUNBUFFERED="1")
    process = subprocess.Popen(
        [sys.executable, "demo/run.py", "--port", str(port)], cwd=ROOT, env=env,
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
    )
    url = f"http://127.0.0.1:{port}/"
    try:
        wait_until_up(url, time.monotonic() + 60)
    except Exception:
        process.kill()
        raise AssertionError(process.communicate()[0].decode()) from None
    yield url
    process.send_signal(signal.SIGINT)  # Ctrl-C
    output = process.communicate(timeout=20)[0].decode()
    assert process.returncode == 0, output


def chromium(*arguments: str) -> webdriver.Chrome:
    binary, chromedriver = shutil.which("chromium"), shutil.which("chromedriver")
    assert binary and chromedriver, "run scripts/ensure-chromium (make test does) to install Chromium"
    options = Options()
    options.binary_location = binary
    for argument in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu", *arguments):
        options.add_argument(argument)
    driver = webdriver.Chrome(options=options, service=Service(executable_path=chromedriver))
    driver.set_page_load_timeout(30)
    return driver


@pytest.fixture(scope="module")
def browser() -> Iterator[webdriver.Chrome]:
    driver = chromium("--window-size=1100,800")
    yield driver
    driver.quit()


# A second browser that says it is Safari on an iPhone, so the page can tell the two apart.
IPHONE = ("Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) "
          "Version/17.5 Mobile/15E148 Safari/604.1")


@pytest.fixture(scope="module")
def phone() -> Iterator[webdriver.Chrome]:
    driver = chromium(f"--user-agent={IPHONE}", "--window-size=390,844")  # a phone's width
    yield driver
    driver.quit()


def submit(browser: webdriver.Chrome, element_id: str) -> None:
    """Click a form's button and wait until the page the redirect leads to has loaded.

    A mark left on the old page's window is gone once a new page has replaced it; while the
    browser is between pages, looking may fail, which only means: look again.
    """
    browser.execute_script("window.beforeSubmit = true;")
    browser.find_element(By.ID, element_id).click()
    WebDriverWait(browser, 15, ignored_exceptions=(WebDriverException,)).until(
        lambda b: b.execute_script("return !window.beforeSubmit && document.readyState === 'complete';")
    )


def text(browser: webdriver.Chrome, element_id: str) -> str:
    return browser.find_element(By.ID, element_id).text


def session_cookie(browser: webdriver.Chrome) -> dict[str, Any]:
    cookie = browser.get_cookie("sessionid")
    assert cookie is not None
    return cookie


def stored(raw: Any, key: str) -> dict[str, Any] | None:
    return raw.get_item(TableName=TABLE, Key={"id": {"S": key}}, ConsistentRead=True).get("Item")  # type: ignore[no-any-return]


def test_the_demo_in_a_real_browser(demo_site: str, browser: webdriver.Chrome, raw: Any) -> None:
    browser.get(demo_site)
    assert text(browser, "visits") == "1"
    first_key = session_cookie(browser)["value"]
    assert stored(raw, first_key) is not None

    # The counter survives reloads: the browser sends the cookie, DynamoDB has the count.
    browser.refresh()
    browser.refresh()
    assert text(browser, "visits") == "3"
    assert session_cookie(browser)["value"] == first_key

    # The raw item panel shows what the table holds.
    assert text(browser, "session-key") == first_key
    shown = {row.get_attribute("data-attribute") for row in browser.find_elements(By.CSS_SELECTOR, "#raw tbody tr")}
    item = stored(raw, first_key)
    # (the demo sets DYNAMODB_SESSIONS_ABSOLUTE_AGE, which stores the creation time; every save
    # writes the version that parallel requests merge on)
    assert item is not None and shown == set(item) == {"id", "ttl", "session_data", "created", "version"}
    countdown = browser.find_element(By.ID, "countdown")
    assert int(countdown.get_attribute("data-ttl") or 0) <= int(item["ttl"]["N"])
    assert countdown.text.startswith("in ")
    assert int(text(browser, "item-size")) > 0

    # A cart: add, add, remove; it persists across a reload.
    for product in ("mug", "mug", "tea"):
        Select(browser.find_element(By.ID, "product")).select_by_value(product)
        submit(browser, "add")
    submit(browser, "remove-tea")
    browser.refresh()
    items = browser.find_elements(By.CSS_SELECTOR, "#cart-items li")
    assert [(li.get_attribute("data-product"), li.find_element(By.CLASS_NAME, "count").text) for li in items] == [
        ("mug", "2")
    ]

    # Log in with "remember me": a new key (cycle_key), the old item gone, a 30-day cookie.
    browser.find_element(By.ID, "name").send_keys("Ada")
    browser.find_element(By.ID, "remember").click()
    submit(browser, "login")
    assert text(browser, "user") == "Ada"
    login_cookie = session_cookie(browser)
    assert login_cookie["value"] != first_key
    assert stored(raw, first_key) is None
    assert login_cookie["expiry"] > time.time() + 29 * 24 * 3600
    assert len(browser.find_elements(By.CSS_SELECTOR, "#cart-items li")) == 1  # the cart came along

    # Log out: the session is flushed and the next page runs on a brand-new key.
    submit(browser, "logout")
    assert text(browser, "visits") == "1"
    assert browser.find_elements(By.ID, "cart-empty")
    assert session_cookie(browser)["value"] not in (first_key, login_cookie["value"])
    assert stored(raw, login_cookie["value"]) is None


SCREENSHOTS = ROOT / "docs"


def row_display(browser: webdriver.Chrome) -> str:
    return str(browser.execute_script(
        "return getComputedStyle(document.querySelector('.pynamo-sessions-table tbody tr')).display;"))


def sign_in(browser: webdriver.Chrome, site: str, name: str) -> None:
    browser.get(site)
    browser.find_element(By.ID, "name").send_keys(name)
    submit(browser, "login")
    assert text(browser, "user") == name


def test_where_youre_signed_in_across_two_browsers(
    demo_site: str, browser: webdriver.Chrome, phone: webdriver.Chrome,
) -> None:
    sign_in(browser, demo_site, "Grace")
    sign_in(phone, demo_site, "Grace")
    browser.find_element(By.ID, "sessions-link").click()
    WebDriverWait(browser, 15).until(lambda b: b.find_elements(By.CSS_SELECTOR, ".pynamo-sessions-table"))
    rows = browser.find_elements(By.CSS_SELECTOR, ".pynamo-sessions-table tbody tr")
    devices = sorted(row.find_element(By.TAG_NAME, "th").text.splitlines()[0] for row in rows)
    assert devices == ["HeadlessChrome on Linux this session", "Safari on iPhone"]
    # In the demo's own layout (DYNAMODB_SESSIONS_LAYOUT_TEMPLATE), with the page's own styles.
    assert browser.find_elements(By.CSS_SELECTOR, "header a[href='/']")
    assert row_display(browser) == "table-row"
    # The README's pictures are taken here, at desktop and phone width, so they cannot go stale.
    browser.save_screenshot(str(SCREENSHOTS / "sessions-page.png"))
    phone.find_element(By.ID, "sessions-link").click()
    WebDriverWait(phone, 15).until(lambda b: b.find_elements(By.CSS_SELECTOR, ".pynamo-sessions-table"))
    assert row_display(phone) == "block"  # a card per session on a phone, no sideways scrolling
    assert phone.execute_script("return document.documentElement.scrollWidth <= window.innerWidth;")
    phone.save_screenshot(str(SCREENSHOTS / "sessions-page-phone.png"))

    # Sign the phone out from the laptop: the page confirms, and lists the laptop alone.
    [other] = [row for row in rows if row.get_attribute("aria-current") is None]
    browser.execute_script("window.beforeSubmit = true;")
    other.find_element(By.TAG_NAME, "button").click()
    WebDriverWait(browser, 15, ignored_exceptions=(WebDriverException,)).until(
        lambda b: b.execute_script("return !window.beforeSubmit && document.readyState === 'complete';")
    )
    assert browser.find_element(By.CSS_SELECTOR, "[role=status]").text == "Signed out Safari on iPhone."
    assert len(browser.find_elements(By.CSS_SELECTOR, ".pynamo-sessions-table tbody tr")) == 1

    # The phone's next request is logged out; the laptop stays signed in.
    phone.get(demo_site)
    assert not phone.find_elements(By.ID, "user") and phone.find_elements(By.ID, "name")
    # and says why, once.
    assert "signed out from elsewhere" in phone.find_element(By.CSS_SELECTOR, ".messages").text
    phone.get(demo_site)
    assert not phone.find_elements(By.CSS_SELECTOR, ".messages")
    browser.get(demo_site)
    assert text(browser, "user") == "Grace"
