#!/usr/bin/python3
# SPDX-License-Identifier: Apache-2.0
# Drives the auditor's console in headless Chromium (chromium-driver,
# python3-selenium) and writes what the page showed as JSON, for
# console.sh to compare with the API's own answers. Every step waits on
# the page's state (WebDriverWait), never on time.
#   console-browser.py PHASE URL WORKDIR SHOTS_DIR [REPORTED | ok | refused]
# PHASE "main": wrong and stamp tokens, then the auditor through every
# view, then sign-out (REPORTED: the count to type for this month);
# "tampered": sign in again and read the integrity view and the entries
# over a log the caller edited; "cert": over HTTPS, sign in with no token,
# the browser presenting the client certificate of its NSS database
# ($HOME/.pki/nssdb), and expect "ok" or "refused".
import json
import os
import sys
import tempfile

from selenium import webdriver
from selenium.common.exceptions import NoAlertPresentException, TimeoutException
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import Select, WebDriverWait

phase, url, work, shots = sys.argv[1:5]
reported = sys.argv[5] if len(sys.argv) > 5 else None
os.makedirs(shots, exist_ok=True)
seen = {}


def token(name):
    with open(os.path.join(work, name + ".token"), encoding="ascii") as f:
        return f.read().strip()


def browser(profile):
    opts = webdriver.ChromeOptions()
    opts.binary_location = os.environ.get("SEALGATE_TEST_CHROMIUM", "/usr/bin/chromium")
    for a in ("--headless=new", "--disable-gpu", "--disable-dev-shm-usage", "--no-first-run",
              "--window-size=1400,1100", "--user-data-dir=" + profile):
        opts.add_argument(a)
    if phase == "cert":
        # Present the certificate to this origin without asking, as a
        # person who chose it in the browser's dialogue once would: the
        # profile's auto_select_certificate content setting.
        os.makedirs(os.path.join(profile, "Default"))
        prefs = {"profile": {"content_settings": {"exceptions": {"auto_select_certificate": {
            url + ",*": {"last_modified": "13300000000000000", "setting": {"filters": [{}]}}}}}}}
        with open(os.path.join(profile, "Default", "Preferences"), "w", encoding="utf-8") as f:
            json.dump(prefs, f)
    if os.geteuid() == 0:
        opts.add_argument("--no-sandbox")   # Chromium's sandbox refuses to run as root
    opts.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    service = Service(executable_path=os.environ.get("SEALGATE_TEST_CHROMEDRIVER", "/usr/bin/chromedriver"))
    d = webdriver.Chrome(service=service, options=opts)
    d.set_page_load_timeout(30)
    return d


def wait(d, what, cond, timeout=15):
    try:
        return WebDriverWait(d, timeout).until(cond)
    except TimeoutException:
        shot(d, "timeout-" + what)
        raise SystemExit(f"console-browser: timed out waiting for {what}; "
                         f"message: {d.find_element(By.ID, 'message').text!r}")


def shot(d, name):
    d.save_screenshot(os.path.join(shots, f"{phase}-{name}.png"))


def js(d, script, *args):
    return d.execute_script(script, *args)


def text(d, element_id):
    return js(d, "const e = document.getElementById(arguments[0]); return e ? e.textContent : null;",
              element_id)


def rows(d, table):
    return js(d, "return [...document.querySelectorAll('#' + arguments[0] + ' tbody tr')]"
                 ".map(r => [...r.cells].map(c => c.textContent));", table)


def sign_in(d, tok, expect):
    box = d.find_element(By.ID, "token")
    box.clear()
    box.send_keys(tok)
    js(d, "document.getElementById('message').textContent = '';")
    d.find_element(By.CSS_SELECTOR, "#sign-in-form button[type=submit]").click()
    if expect == "ok":
        wait(d, "signed in", lambda d: not d.find_element(By.ID, "views").get_attribute("hidden")
             and len(rows(d, "entries-table")) > 0)
    else:
        wait(d, "refusal", lambda d: text(d, "message") != "")


def inert(d):
    """What an injected script or image would have left behind."""
    try:
        d.switch_to.alert
        alert = True
    except NoAlertPresentException:
        alert = False
    return {
        "alert": alert,
        "pwned": js(d, "return typeof window.pwned === 'undefined' ? null : String(window.pwned);"),
        "images": js(d, "return document.querySelectorAll('img').length;"),
        "scripts": js(d, "return [...document.scripts].map(s => s.getAttribute('src'));"),
        "foreign": js(d, "return performance.getEntriesByType('resource').map(e => e.name)"
                         ".filter(n => !n.startsWith(location.origin + '/'));"),
        "requests": js(d, "return performance.getEntriesByType('resource').length;"),
    }


def csp_reports(d):
    return [e["message"] for e in d.get_log("browser") if "Content Security Policy" in e["message"]]


def loads(d):
    return js(d, "return document.querySelector('#entries-table tbody').dataset.loads || '0';")


def new_page(d, what, click):
    """Click, then wait for the entries table to show the page it asked for."""
    before = loads(d)
    click()
    wait(d, what, lambda d: loads(d) != before)


def submit_filter(d):
    new_page(d, "filtered entries",
             d.find_element(By.CSS_SELECTOR, "#entry-filter button[type=submit]").click)


def page_through(d, limit):
    Select(d.find_element(By.NAME, "limit")).select_by_visible_text(str(limit))
    submit_filter(d)
    pages = []
    while True:
        pages.append(rows(d, "entries-table"))
        nxt = d.find_element(By.ID, "page-next")
        if nxt.get_attribute("disabled"):
            return pages
        new_page(d, "next page", nxt.click)


def nav(d, view):
    d.find_element(By.CSS_SELECTOR, f'nav button[data-view="{view}"]').click()


def integrity(d):
    nav(d, "integrity")
    wait(d, "integrity", lambda d: text(d, "integrity-detail") and
         (text(d, "checkpoint-seq") is None or text(d, "checkpoint-time")))
    return {k: text(d, k) for k in ("integrity-verdict", "integrity-detail", "integrity-first-bad",
                                     "integrity-sealed-seq", "checkpoint-seq", "checkpoint-time",
                                     "checkpoint-identity")}


def main(d):
    d.get(url + "/console/")
    wait(d, "sign-in form", lambda d: d.find_element(By.ID, "token").is_displayed())
    shot(d, "sign-in")
    for name, tok in (("wrong", "not-a-token-" + "0" * 52), ("stamp", token("billing"))):
        sign_in(d, tok, "refused")
        seen[name] = {"message": text(d, "message"),
                      "views_hidden": d.find_element(By.ID, "views").get_attribute("hidden") is not None,
                      "rows": len(rows(d, "entries-table")),
                      "stored": js(d, "return sessionStorage.length;")}
    shot(d, "refused")
    # The officer role reads the audit endpoints too: data, then sign-out.
    sign_in(d, token("officer"), "ok")
    seen["officer"] = {"rows": len(rows(d, "entries-table")),
                       "views_hidden": d.find_element(By.ID, "views").get_attribute("hidden") is not None}
    d.find_element(By.ID, "sign-out").click()
    wait(d, "officer signed out", lambda d: d.find_element(By.ID, "token").is_displayed())
    auditor = token("auditor")
    sign_in(d, auditor, "ok")
    seen["stored_token"] = js(d, "return sessionStorage.getItem('sealgate-console-token') === arguments[0];",
                              auditor)
    seen["url"] = d.current_url
    seen["pages"] = page_through(d, 10)
    # The sign entries, and the first of them opened in full.
    new_page(d, "first page again", d.find_element(By.ID, "page-first").click)
    d.find_element(By.NAME, "type").send_keys("sign")
    submit_filter(d)
    seen["sign_rows"] = rows(d, "entries-table")
    # The other filters, each alone and then together with a time range.
    seen["filtered"] = {}
    for name, values in (("outcome", {"outcome": "error"}), ("identity", {"identity": "ec-seal"}),
                         ("client_in_range", {"client": "billing", "from": "2000-01-01T00:00:00",
                                              "to": "2099-01-01T00:00:00"}),
                         ("future", {"from": "2099-01-01T00:00:00"})):
        js(d, "const f = document.getElementById('entry-filter'); f.reset();"
              "for (const [k, v] of Object.entries(arguments[0])) f.elements[k].value = v;", values)
        submit_filter(d)
        seen["filtered"][name] = {"rows": rows(d, "entries-table"), "info": text(d, "page-info")}
    js(d, "document.getElementById('entry-filter').reset();"
          "document.getElementById('entry-filter').elements.limit.value = '10';"
          "document.getElementById('entry-filter').elements.type.value = 'sign';")
    submit_filter(d)
    first = d.find_element(By.CSS_SELECTOR, "#entries-table tbody tr button.seq")
    seq = first.text
    first.click()
    wait(d, "entry detail", lambda d: text(d, "entry-detail-title") == "Entry " + seq and
         d.find_element(By.ID, "entry-detail").get_attribute("data-linked") == seq)
    seen["detail_seq"] = int(seq)
    seen["detail"] = js(d, "return Object.fromEntries([...document.querySelectorAll('#entry-detail-fields dd')]"
                           ".map(e => [e.dataset.field, e.textContent]));")
    seen["prev_check"] = text(d, "prev-check")
    seen["links"] = js(d, "return [...document.querySelectorAll('#entry-links button')].map(b => b.textContent);")
    shot(d, "entries")
    seen["integrity"] = integrity(d)
    shot(d, "integrity")
    nav(d, "counts")
    wait(d, "counts chart", lambda d: js(d, "return document.querySelectorAll('#counts-svg rect').length;") == 12)
    seen["counts"] = js(d, "return Object.fromEntries([...document.querySelectorAll('#counts-table tbody tr')]"
                           ".map(r => [r.dataset.row, Object.fromEntries([...r.querySelectorAll('td')]"
                           ".map(c => [c.dataset.month, Number(c.textContent)]))]));")
    seen["bars"] = js(d, "return Object.fromEntries([...document.querySelectorAll('#counts-svg rect')]"
                         ".map(b => [b.dataset.month, Number(b.dataset.count)]));")
    box = d.find_element(By.ID, "reported")
    box.send_keys(reported)
    d.find_element(By.CSS_SELECTOR, "#reconcile-form button[type=submit]").click()
    wait(d, "reconciled", lambda d: d.find_element(By.ID, "reconcile-result").get_attribute("data-difference"))
    res = d.find_element(By.ID, "reconcile-result")
    seen["reconcile"] = {"month": Select(d.find_element(By.ID, "reconcile-month")).first_selected_option.text,
                         "difference": res.get_attribute("data-difference"), "class": res.get_attribute("class"),
                         "text": res.text}
    shot(d, "counts")
    nav(d, "identities")
    wait(d, "identities", lambda d: len(rows(d, "identities-table")) > 0)
    seen["identities"] = rows(d, "identities-table")
    shot(d, "identities")
    seen["inert"] = inert(d)
    seen["csp_reports"] = csp_reports(d)
    d.find_element(By.ID, "sign-out").click()
    wait(d, "signed out", lambda d: d.find_element(By.ID, "token").is_displayed())
    seen["signed_out"] = {"stored": js(d, "return sessionStorage.length;"),
                          "rows": len(rows(d, "entries-table")) + len(rows(d, "identities-table")),
                          "views_hidden": d.find_element(By.ID, "views").get_attribute("hidden") is not None}
    d.refresh()
    wait(d, "reloaded", lambda d: d.find_element(By.ID, "token").is_displayed())
    seen["after_reload_views_hidden"] = d.find_element(By.ID, "views").get_attribute("hidden") is not None
    shot(d, "signed-out")


def tampered(d):
    d.get(url + "/console/")
    wait(d, "sign-in form", lambda d: d.find_element(By.ID, "token").is_displayed())
    sign_in(d, token("auditor"), "ok")
    seen["integrity"] = integrity(d)
    shot(d, "integrity")
    nav(d, "entries")
    seen["pages"] = page_through(d, 100)
    shot(d, "entries")
    seen["inert"] = inert(d)
    seen["csp_reports"] = csp_reports(d)


def cert(d):
    d.get(url + "/console/")
    wait(d, "sign-in form", lambda d: d.find_element(By.ID, "token").is_displayed())
    sign_in(d, "", reported)
    seen["message"] = text(d, "message")
    seen["rows"] = len(rows(d, "entries-table"))
    seen["stored"] = js(d, "return sessionStorage.length;")
    shot(d, reported)


with tempfile.TemporaryDirectory(prefix="sg-chromium.") as profile:
    drv = browser(profile)
    try:
        {"main": main, "tampered": tampered, "cert": cert}[phase](drv)
    finally:
        drv.quit()
json.dump(seen, sys.stdout, indent=1)
