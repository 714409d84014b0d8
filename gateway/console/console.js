// SPDX-License-Identifier: Apache-2.0
// The auditor's console. Every value from the gateway is shown with
// textContent or createTextNode, never parsed as markup; the bearer token
// lives in sessionStorage only and goes out in the Authorization header.
"use strict";

const TOKEN_KEY = "sealgate-console-token";
const VIEWS = ["entries", "integrity", "counts", "identities"];
const KINDS = ["stamps", "signatures", "soap", "timestamps"];
const $ = (id) => document.getElementById(id);

// --- building the page from data, as text ---------------------------------

function el(tag, attrs, ...children) {
	const e = document.createElement(tag);
	for (const [k, v] of Object.entries(attrs || {}))
		e.setAttribute(k, String(v));
	for (const c of children)
		e.append(c instanceof Node ? c : document.createTextNode(shown(c)));
	return e;
}

function shown(v) {
	if (v === null || v === undefined)
		return "";
	return typeof v === "object" ? JSON.stringify(v) : String(v);
}

function clear(node) {
	while (node.firstChild)
		node.removeChild(node.firstChild);
}

function say(text, kind) {
	const m = $("message");
	m.textContent = text || "";
	m.className = kind || "";
}

function addField(dl, name, value, attrs) {
	dl.append(el("dt", {}, name), el("dd", attrs || {}, value));
}

// --- the gateway ----------------------------------------------------------

class Refused extends Error {
	constructor(status, body) {
		super(body && body.error_description ? body.error_description : "HTTP " + status);
		this.status = status;
	}
}

async function api(path) {
	const token = sessionStorage.getItem(TOKEN_KEY);
	const headers = { Accept: "application/json" };
	if (token)
		headers.Authorization = "Bearer " + token;
	const r = await fetch(path, { headers, cache: "no-store", credentials: "same-origin",
		redirect: "error" });
	let body = null;
	try {
		body = await r.json();
	} catch (e) {
		body = null;
	}
	if (r.status !== 200)
		throw new Refused(r.status, body);
	return body;
}

// An answer refused for the credential ends the session: nothing of the
// page stays on screen.
function failed(e) {
	if (e instanceof Refused && (e.status === 401 || e.status === 403)) {
		signOut();
		say("Refused: " + e.message, "error");
		return;
	}
	say(e.message, "error");
}

function query(params) {
	const q = new URLSearchParams();
	for (const [k, v] of Object.entries(params))
		if (v !== "" && v !== null && v !== undefined)
			q.set(k, String(v));
	const s = q.toString();
	return s ? "?" + s : "";
}

// --- signing in and out ---------------------------------------------------

async function signIn(token) {
	if (token)
		sessionStorage.setItem(TOKEN_KEY, token);
	else
		sessionStorage.removeItem(TOKEN_KEY);
	try {
		await api("/v1/audit/verify");
	} catch (e) {
		signOut();
		say(e instanceof Refused && e.status === 401 ? "Not signed in: " + e.message :
		    e instanceof Refused && e.status === 403 ? "This credential has no auditor or officer role: " + e.message :
		    e.message, "error");
		return;
	}
	$("token").value = "";
	$("sign-in").hidden = true;
	$("nav").hidden = false;
	$("views").hidden = false;
	say("");
	show("entries");
}

function signOut() {
	sessionStorage.removeItem(TOKEN_KEY);
	for (const id of ["entries-table", "counts-table", "identities-table"])
		clear($(id).tBodies[0]);
	clear($("counts-table").tHead);
	for (const id of ["entry-detail-fields", "entry-links", "integrity-fields", "checkpoint-fields",
		"counts-chart", "counts-chart-of", "reconcile-month", "reconcile-row"])
		clear($(id));
	for (const id of ["integrity-verdict", "reconcile-result", "page-info", "entry-detail-title"])
		$(id).textContent = "";
	$("entry-detail").hidden = true;
	$("views").hidden = true;
	$("nav").hidden = true;
	$("sign-in").hidden = false;
	say("Signed out.");
}

function show(view) {
	for (const v of VIEWS) {
		$("view-" + v).hidden = v !== view;
		const b = document.querySelector('nav button[data-view="' + v + '"]');
		b.classList.toggle("current", v === view);
	}
	({ entries: loadEntries, integrity: loadIntegrity, counts: loadCounts,
		identities: loadIdentities })[view]().catch(failed);
}

// --- Entries --------------------------------------------------------------

const paging = { after: 0, previous: [], next: null };

// datetime-local gives "YYYY-MM-DDTHH:MM[:SS]"; the form's times are UTC.
function rfc3339(v) {
	if (!v)
		return "";
	return (v.length === 16 ? v + ":00" : v) + "Z";
}

function entryFilter() {
	const f = new FormData($("entry-filter"));
	return {
		from: rfc3339(f.get("from")), to: rfc3339(f.get("to")), client: f.get("client").trim(),
		identity: f.get("identity").trim(), type: f.get("type").trim(), outcome: f.get("outcome"),
		limit: f.get("limit"),
	};
}

async function loadEntries() {
	const doc = await api("/v1/audit/entries" + query({ ...entryFilter(), after_seq: paging.after }));
	const body = $("entries-table").tBodies[0];
	clear(body);
	for (const e of doc.entries) {
		const open = el("button", { type: "button", class: "seq" }, e.seq);
		open.addEventListener("click", () => openEntry(e).catch(failed));
		body.append(el("tr", { "data-seq": e.seq, class: e.outcome === "error" ? "error" : "" },
			el("td", {}, open), el("td", {}, e.time), el("td", {}, e.type), el("td", {}, e.client),
			el("td", {}, e.identity), el("td", {}, e.outcome),
			el("td", {}, [e.error, e.detail].filter((v) => v).join(": "))));
	}
	paging.next = doc.next_after_seq;
	$("page-next").disabled = paging.next === null;
	$("page-prev").disabled = paging.previous.length === 0;
	$("page-first").disabled = paging.after === 0;
	// Counts the pages shown, so a reader (or a test) can tell a new one.
	body.dataset.loads = Number(body.dataset.loads || 0) + 1;
	$("page-info").textContent = doc.entries.length === 0 ? "no entries" :
	    "seq " + doc.entries[0].seq + " to " + doc.entries[doc.entries.length - 1].seq +
	    (paging.next === null ? " (last page)" : "");
}

function page(to) {
	if (to === "next" && paging.next !== null) {
		paging.previous.push(paging.after);
		paging.after = paging.next;
	} else if (to === "prev" && paging.previous.length > 0) {
		paging.after = paging.previous.pop();
	} else if (to === "first") {
		paging.after = 0;
		paging.previous = [];
	}
	loadEntries().catch(failed);
}

async function entryAt(seq) {
	if (seq < 1)
		return null;
	const doc = await api("/v1/audit/entries" + query({ after_seq: seq - 1, limit: 1 }));
	return doc.entries.length === 1 && doc.entries[0].seq === seq ? doc.entries[0] : null;
}

// One entry in full: every member in the log's order, then what it links
// to: the entry its prev names (and whether that entry's hash is it), the
// next one, the checkpoint's sealed range, the identity and client.
async function openEntry(e) {
	const dl = $("entry-detail-fields"), links = $("entry-links");
	clear(dl);
	clear(links);
	$("entry-detail").hidden = false;
	$("entry-detail").dataset.seq = e.seq;
	// Set once every link is in place (they wait on two more answers).
	delete $("entry-detail").dataset.linked;
	$("entry-detail-title").textContent = "Entry " + e.seq;
	for (const [k, v] of Object.entries(e))
		addField(dl, k, v, { "data-field": k });
	const link = (label, action) => {
		const b = el("button", { type: "button" }, label);
		b.addEventListener("click", () => Promise.resolve(action()).catch(failed));
		links.append(b);
	};
	const before = await entryAt(e.seq - 1);
	if (before) {
		const agrees = before.hash === e.prev;
		link("Previous entry, seq " + before.seq, () => openEntry(before));
		links.append(el("span", { id: "prev-check", class: agrees ? "good" : "bad" },
			agrees ? "its hash is this entry's prev" : "its hash is NOT this entry's prev"));
	} else if (e.seq === 1) {
		links.append(el("span", { class: "good" }, "the first entry: prev is all zeros"));
	}
	const after = await entryAt(e.seq + 1);
	if (after)
		link("Next entry, seq " + after.seq, () => openEntry(after));
	if (e.identity)
		link("Entries of identity " + e.identity, () => filterBy("identity", e.identity));
	if (e.client)
		link("Entries of client " + e.client, () => filterBy("client", e.client));
	if (e.type === "checkpoint")
		links.append(el("span", {}, "a checkpoint signs the chain up to the entry before it (seq " +
			(e.seq - 1) + ")"));
	$("entry-detail").dataset.linked = e.seq;
}

function filterBy(name, value) {
	const form = $("entry-filter");
	form.reset();
	form.elements[name].value = value;
	paging.after = 0;
	paging.previous = [];
	loadEntries().catch(failed);
}

// --- Integrity ------------------------------------------------------------

async function loadIntegrity() {
	const v = await api("/v1/audit/verify");
	const dl = $("integrity-fields"), cp = $("checkpoint-fields"), verdict = $("integrity-verdict");
	clear(dl);
	clear(cp);
	verdict.textContent = v.ok ? "The chain verifies and is sealed." :
	    v.first_bad_seq !== null ? "The chain does NOT verify: first break at seq " + v.first_bad_seq + "." :
	    "Not verified: " + v.seal_detail;
	verdict.className = "verdict " + (v.ok ? "good" : "bad");
	addField(dl, "chain", v.detail, { id: "integrity-detail" });
	addField(dl, "first break (seq)", v.first_bad_seq === null ? "none" : v.first_bad_seq,
		{ id: "integrity-first-bad" });
	addField(dl, "entries", v.entries);
	addField(dl, "checkpoints", v.checkpoints);
	addField(dl, "sealed", v.sealed ? "yes" : "no");
	addField(dl, "sealed up to seq", v.sealed_seq === null ? "nothing" : v.sealed_seq,
		{ id: "integrity-sealed-seq" });
	addField(dl, "entries after the seal", v.unsealed_entries);
	addField(dl, "seal", v.seal_detail);
	if (v.sealed_by === null) {
		addField(cp, "checkpoint", "none signed by the audit key");
		return;
	}
	const c = await entryAt(v.sealed_by);
	addField(cp, "seq", v.sealed_by, { id: "checkpoint-seq" });
	if (c) {
		addField(cp, "time (UTC)", c.time, { id: "checkpoint-time" });
		addField(cp, "signing identity", c.identity, { id: "checkpoint-identity" });
		addField(cp, "key id", c.key_id);
		addField(cp, "certificate serial", c.cert_serial);
		addField(cp, "algorithm", c.alg);
	}
}

// --- Monthly counts -------------------------------------------------------

// The last 12 months, oldest first, as YYYY-MM (UTC).
function lastMonths() {
	const now = new Date(), out = [];
	for (let i = 11; i >= 0; i--) {
		const d = new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth() - i, 1));
		out.push(d.getUTCFullYear() + "-" + String(d.getUTCMonth() + 1).padStart(2, "0"));
	}
	return out;
}

const counts = { months: [], rows: new Map() };	// row key -> month -> count

function measured(c, measure) {
	return measure === "all" ? KINDS.reduce((n, k) => n + (c[k] || 0), 0) : c[measure] || 0;
}

function rowKey(c, by) {
	return by === "identity" ? c.identity : by === "client" ? c.client : c.identity + " / " + c.client;
}

async function loadCounts() {
	const f = new FormData($("counts-form"));
	const by = f.get("by"), measure = f.get("measure");
	const months = lastMonths();
	const param = by === "identity-client" ? "" : by;
	const docs = await Promise.all(months.map((m) => api("/v1/audit/counts" + query({ month: m, by: param }))));
	counts.months = months;
	counts.rows = new Map();
	docs.forEach((doc, i) => {
		for (const c of doc.counts) {
			const key = rowKey(c, by);
			if (!counts.rows.has(key))
				counts.rows.set(key, new Map());
			const row = counts.rows.get(key);
			row.set(months[i], (row.get(months[i]) || 0) + measured(c, measure));
		}
	});
	const keys = [...counts.rows.keys()].sort();
	const table = $("counts-table");
	clear(table.tHead);
	clear(table.tBodies[0]);
	table.tHead.append(el("tr", {}, el("th", {}, by === "identity-client" ? "identity / client" : by),
		...months.map((m) => el("th", {}, m))));
	for (const k of keys)
		table.tBodies[0].append(el("tr", { "data-row": k }, el("th", {}, k),
			...months.map((m) => el("td", { "data-month": m }, counts.rows.get(k).get(m) || 0))));
	table.tBodies[0].append(el("tr", { "data-row": "", class: "total" }, el("th", {}, "all"),
		...months.map((m) => el("td", { "data-month": m }, total("", m)))));
	fillSelect($("counts-chart-of"), keys);
	fillSelect($("reconcile-row"), keys);
	const monthSel = $("reconcile-month");
	const kept = monthSel.value;
	clear(monthSel);
	for (const m of months.slice().reverse())
		monthSel.append(el("option", { value: m }, m));
	if (months.includes(kept))
		monthSel.value = kept;
	drawChart();
	reconcile();
}

function fillSelect(sel, keys) {
	const kept = sel.value;
	clear(sel);
	sel.append(el("option", { value: "" }, "all"));
	for (const k of keys)
		sel.append(el("option", { value: k }, k));
	if (keys.includes(kept))
		sel.value = kept;
}

function total(key, month) {
	if (key !== "")
		return counts.rows.has(key) ? counts.rows.get(key).get(month) || 0 : 0;
	let n = 0;
	for (const row of counts.rows.values())
		n += row.get(month) || 0;
	return n;
}

const SVG = "http://www.w3.org/2000/svg";

function svg(tag, attrs, text) {
	const e = document.createElementNS(SVG, tag);
	for (const [k, v] of Object.entries(attrs))
		e.setAttribute(k, String(v));
	if (text !== undefined)
		e.textContent = String(text);
	return e;
}

// One bar per month, in plain SVG: height by count, the count above it.
function drawChart() {
	const box = $("counts-chart"), key = $("counts-chart-of").value;
	clear(box);
	const values = counts.months.map((m) => total(key, m));
	const max = Math.max(1, ...values), W = 720, H = 220, top = 20, bottom = 40, slot = W / values.length;
	const chart = svg("svg", { viewBox: "0 0 " + W + " " + H, role: "img", id: "counts-svg" });
	chart.append(svg("title", {}, "Monthly counts of " + (key || "all")));
	values.forEach((v, i) => {
		const h = Math.round((H - top - bottom) * v / max), x = i * slot + slot * 0.15;
		chart.append(svg("rect", { x, y: H - bottom - h, width: slot * 0.7, height: h, class: "bar",
			"data-month": counts.months[i], "data-count": v }));
		chart.append(svg("text", { x: x + slot * 0.35, y: H - bottom - h - 4, class: "value" }, v));
		chart.append(svg("text", { x: x + slot * 0.35, y: H - bottom + 16, class: "month" },
			counts.months[i]));
	});
	chart.append(svg("line", { x1: 0, x2: W, y1: H - bottom, y2: H - bottom, class: "axis" }));
	box.append(chart);
}

// The authority's reported count against the gateway's own for one month.
function reconcile() {
	const out = $("reconcile-result"), typed = $("reported").value.trim();
	out.removeAttribute("data-difference");
	if (typed === "" || counts.months.length === 0) {
		out.textContent = "";
		out.className = "";
		return;
	}
	const reported = Number(typed), month = $("reconcile-month").value, key = $("reconcile-row").value;
	if (!Number.isInteger(reported) || reported < 0) {
		out.textContent = "The reported count is a whole number of 0 or more.";
		out.className = "bad";
		return;
	}
	const ours = total(key, month), diff = reported - ours;
	out.dataset.difference = diff;
	out.className = diff === 0 ? "good" : "bad";
	out.textContent = month + ", " + (key || "all") + ": the gateway counted " + ours +
	    ", the authority reports " + reported + (diff === 0 ? ": they agree." :
	    ": difference " + (diff > 0 ? "+" : "") + diff + ".");
}

// --- Identities -----------------------------------------------------------

// Every entry of one identity and type, following the pages.
async function allEntries(identity, type) {
	let after = 0, out = [];
	for (;;) {
		const doc = await api("/v1/audit/entries" + query({ identity, type, after_seq: after, limit: 1000 }));
		out = out.concat(doc.entries);
		if (doc.next_after_seq === null)
			return out;
		after = doc.next_after_seq;
	}
}

async function loadIdentities() {
	const ids = await api("/v1/identities");
	const rows = await Promise.all(ids.map(async (id) => {
		const jobs = (await allEntries(id.name, "renew")).concat(await allEntries(id.name, "enroll"))
			.sort((a, b) => a.seq - b.seq);
		return { id, jobs };
	}));
	const body = $("identities-table").tBodies[0];
	clear(body);
	for (const { id, jobs } of rows) {
		const c = id.certificate, last = jobs.length ? jobs[jobs.length - 1] : null;
		const failures = jobs.filter((j) => j.outcome === "error");
		const days = c ? c.days_left : null;
		const renewal = last === null ? "none recorded" : last.type + " " + last.outcome + " " + last.time +
		    (last.error ? ": " + last.error : "") + (last.detail ? " (" + last.detail + ")" : "");
		const failed = failures.length === 0 ? "0" : failures.length + ", last " +
		    failures[failures.length - 1].time + ": " + (failures[failures.length - 1].error || "");
		body.append(el("tr", { "data-identity": id.name },
			el("td", {}, id.name), el("td", {}, id.key_type), el("td", {}, id.uses.join(", ")),
			el("td", {}, c ? c.subject : "no certificate"), el("td", {}, c ? c.issuer : ""),
			el("td", {}, c ? c.not_after : ""),
			el("td", { class: days === null ? "" : days < 0 ? "bad" : days < 30 ? "warn" : "" },
				days === null ? "" : days),
			el("td", { class: last && last.outcome === "error" ? "bad" : "" }, renewal),
			el("td", { class: failures.length ? "bad" : "" }, failed)));
	}
}

// --- wiring ---------------------------------------------------------------

document.addEventListener("DOMContentLoaded", () => {
	$("sign-in-form").addEventListener("submit", (ev) => {
		ev.preventDefault();
		signIn($("token").value.trim());
	});
	$("sign-out").addEventListener("click", signOut);
	for (const b of document.querySelectorAll("nav button[data-view]"))
		b.addEventListener("click", () => show(b.dataset.view));
	$("entry-filter").addEventListener("submit", (ev) => {
		ev.preventDefault();
		paging.after = 0;
		paging.previous = [];
		loadEntries().catch(failed);
	});
	$("page-first").addEventListener("click", () => page("first"));
	$("page-prev").addEventListener("click", () => page("prev"));
	$("page-next").addEventListener("click", () => page("next"));
	for (const name of ["by", "measure"])
		$("counts-form").elements[name].addEventListener("change", () => loadCounts().catch(failed));
	$("counts-chart-of").addEventListener("change", drawChart);
	$("reconcile-form").addEventListener("submit", (ev) => {
		ev.preventDefault();
		reconcile();
	});
	for (const id of ["reconcile-month", "reconcile-row", "reported"])
		$(id).addEventListener("input", reconcile);
	// A session this tab already holds goes on after a reload.
	if (sessionStorage.getItem(TOKEN_KEY) !== null)
		signIn(sessionStorage.getItem(TOKEN_KEY));
});
