// Cairn dashboard. It reads the node's JSON API with the token taken from
// the URL fragment (kept in this tab's session storage) and redraws the
// current page every POLL_MS, without reloading. Pages: #/ (overview),
// #/object/CID (where one object is held), #/peers.
'use strict';

const TOKEN_KEY = 'cairn.token';
const ADVANCED_KEY = 'cairn.advanced';
const PAGE_SIZE = 50; // rows per overview page; #/?per_page=N changes it (1 to 1000)
const POLL_MS = 1500;
// With no successful update for this long the page greys out: what it
// shows may no longer be true.
const OUTDATED_MS = 8000;

const app = {
  token: null,
  states: new Map(), // state word -> {label, symbol, colour, severity}
  stateOrder: [],
  cursors: [''], // overview page cursors; the current page's is last
  pageSize: PAGE_SIZE,
  names: new Map(), // cid -> name, from the overview page last seen
  lastOK: 0, // Date.now() of the latest successful update
  error: null, // the latest update's error, null after a success
  timer: 0,
  generation: 0, // bumped by every update, so late answers are dropped
};

// How each holder state of a copy is drawn (replication's words).
const HOLDER_LOOK = {
  verified: { symbol: '✓', colour: 'green' },
  unverified: { symbol: '↻', colour: 'blue' },
  failed: { symbol: '✗', colour: 'red' },
  stale: { symbol: '?', colour: 'grey' },
  released: { symbol: '−', colour: 'grey' },
  revoked: { symbol: '⊘', colour: 'grey' },
};

const $ = (id) => document.getElementById(id);

// h builds an element; children are nodes or text (never parsed as HTML).
function h(tag, attrs, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === undefined || v === null || v === false) continue;
    if (k === 'class') el.className = v;
    else if (k.startsWith('on')) el.addEventListener(k.slice(2), v);
    else el.setAttribute(k, v === true ? '' : String(v));
  }
  for (const c of children.flat(Infinity)) {
    if (c === undefined || c === null || c === false) continue;
    el.append(c instanceof Node ? c : String(c));
  }
  return el;
}

// ago renders an age as the CLI does (netstat.Age).
function ago(ms) {
  const s = Math.floor(ms / 1000);
  if (s < 5) return 'just now';
  if (s < 60) return s + ' s ago';
  if (s < 3600) return Math.floor(s / 60) + ' min ago';
  if (s < 48 * 3600) return Math.floor(s / 3600) + ' h ago';
  return Math.floor(s / 86400) + ' days ago';
}

const plural = (n, one, many) => n + ' ' + (n === 1 ? one : many);
const shortID = (id) => (id.length > 20 ? id.slice(0, 10) + '…' + id.slice(-6) : id);

// ---- token and API

function takeToken() {
  const m = /(?:^#|[&#/])token=([^&]*)/.exec(location.hash);
  if (m) {
    sessionStorage.setItem(TOKEN_KEY, decodeURIComponent(m[1]));
    history.replaceState(null, '', location.pathname + location.search + '#/');
  }
  return sessionStorage.getItem(TOKEN_KEY);
}

class Refused extends Error {}

async function api(path) {
  const r = await fetch(path, { headers: { Authorization: 'Bearer ' + app.token }, cache: 'no-store' });
  let body = null;
  try {
    body = await r.json();
  } catch {
    // not JSON: the status line says enough
  }
  const msg = (body && body.error) || r.status + ' ' + r.statusText;
  if (r.status === 401) throw new Refused(msg);
  if (!r.ok) {
    const e = new Error(msg);
    e.status = r.status;
    throw e;
  }
  return body;
}

async function loadStates() {
  const r = await fetch('/states.json', { cache: 'no-store' });
  for (const s of await r.json()) {
    app.states.set(s.word, s);
    app.stateOrder.push(s.word);
  }
}

// ---- updating

function route() {
  const [path, query] = (location.hash.replace(/^#/, '') || '/').split('?');
  if (path.startsWith('/object/')) return { page: 'object', cid: decodeURIComponent(path.slice('/object/'.length)) };
  if (path === '/peers') return { page: 'peers' };
  const n = Number(new URLSearchParams(query || '').get('per_page'));
  return { page: 'overview', pageSize: Number.isInteger(n) && n >= 1 && n <= 1000 ? n : PAGE_SIZE };
}

const pages = { overview: overviewPage, object: objectPage, peers: peersPage };

// update redraws the current page from fresh answers, then schedules the
// next update; a node that answers slowly is polled less often.
async function update() {
  clearTimeout(app.timer);
  if (!app.token) return;
  const gen = ++app.generation;
  const started = performance.now();
  const r = route();
  try {
    const view = await pages[r.page](r);
    if (gen !== app.generation) return;
    const main = $('main');
    // Unchanged pages are left alone, so a selection or a click in
    // progress survives the update.
    if (!main.firstElementChild || main.firstElementChild.outerHTML !== view.outerHTML) main.replaceChildren(view);
    markNav(r.page);
    app.lastOK = Date.now();
    app.error = null;
  } catch (e) {
    if (gen !== app.generation) return;
    if (e instanceof Refused) {
      sessionStorage.removeItem(TOKEN_KEY);
      app.token = null;
      showNoToken('The node refused the token (' + e.message + ').');
      return;
    }
    app.error = e;
  }
  showLiveness();
  app.timer = setTimeout(update, Math.max(POLL_MS, Math.min(3 * (performance.now() - started), 10000)));
}

function markNav(page) {
  for (const a of document.querySelectorAll('[data-nav]')) {
    a.classList.toggle('current', a.dataset.nav === page || (page === 'object' && a.dataset.nav === 'overview'));
  }
}

// showLiveness says how fresh the page is; old information looks old.
function showLiveness() {
  if (!app.token) return;
  const live = $('live');
  const banner = $('banner');
  if (!app.lastOK) {
    live.textContent = app.error ? 'cannot reach the node' : 'connecting…';
    live.className = 'live' + (app.error ? ' down' : '');
    if (app.error) showBanner('Cannot reach the node: ' + app.error.message + '. Is `cairn daemon` running?', true);
    return;
  }
  const age = Date.now() - app.lastOK;
  const outdated = age > OUTDATED_MS;
  live.textContent = age < 2 * POLL_MS + 1000 ? 'live' : 'updated ' + ago(age);
  live.className = 'live' + (outdated ? ' down' : age > 2 * POLL_MS + 1000 ? ' lagging' : '');
  document.body.classList.toggle('outdated', outdated);
  if (app.error && outdated) {
    showBanner('Lost contact with the node (' + app.error.message + '). What you see is from ' + ago(age) + ' and may no longer be true.', true);
  } else {
    banner.hidden = true;
  }
}

function showBanner(text, error) {
  const b = $('banner');
  b.textContent = text;
  b.className = 'banner' + (error ? ' error' : '');
  b.hidden = false;
}

function showNoToken(why) {
  clearTimeout(app.timer);
  app.generation++;
  $('live').textContent = 'not connected';
  $('live').className = 'live down';
  $('main').replaceChildren(
    h('div', { class: 'notice', id: 'no-token' },
      h('h2', {}, 'This dashboard needs the node’s API token'),
      why ? h('p', {}, why) : null,
      h('p', {}, 'On the machine that runs the node, run ', h('code', {}, 'cairn dashboard'),
        ' and open the link it prints. The token stays in this browser tab and is sent only to this node.')));
}

function setAdvanced(on) {
  document.body.classList.toggle('advanced', on);
  $('advanced').checked = on;
  localStorage.setItem(ADVANCED_KEY, on ? '1' : '0');
}

const advanced = () => document.body.classList.contains('advanced');

// ---- pieces

function stateOf(word) {
  return app.states.get(word) || { word, label: word, symbol: '?', colour: 'grey' };
}

function mark(symbol, colour, big) {
  return h('span', { class: 'mark c-' + colour + (big ? ' big' : ''), 'aria-hidden': 'true' }, symbol);
}

function stateBadge(word) {
  const s = stateOf(word);
  return h('span', { class: 'state t-' + s.colour }, mark(s.symbol, s.colour), s.label);
}

// ---- overview

async function overviewPage({ pageSize }) {
  if (pageSize !== app.pageSize) {
    app.pageSize = pageSize;
    app.cursors = [''];
  }
  const q = new URLSearchParams({ limit: pageSize });
  const cursor = app.cursors[app.cursors.length - 1];
  if (cursor) q.set('after', cursor);
  const ov = await api('/api/v1/status?' + q);
  if (ov.objects.length === 0 && app.cursors.length > 1) {
    app.cursors = [''];
    return overviewPage({ pageSize });
  }
  app.names = new Map(ov.objects.filter((o) => o.name).map((o) => [o.cid, o.name]));
  return h('div', { id: 'overview' }, hero(ov), tallyCards(ov.tally), objectTable(ov), pager(ov));
}

function hero(ov) {
  const total = ov.tally.total;
  let cls, symbol, title, text;
  if (total === 0) {
    [cls, symbol, title, text] = ['empty', '○', 'No objects yet', 'Add a file with `cairn add FILE`; it appears here and you can watch it replicate.'];
  } else if (ov.safe_offline) {
    [cls, symbol, title, text] = ['safe', '✓', 'Safe to go offline', 'Every object this node owns has a verified copy on another node.'];
  } else {
    const n = ov.not_safe_offline;
    [cls, symbol, title, text] = ['unsafe', '⚠', 'Not yet safe to go offline',
      plural(n, 'object', 'objects') + ' this node owns ' + (n === 1 ? 'has' : 'have') + ' no verified copy on another node yet.'];
  }
  const counted = Date.now() - Date.parse(ov.as_of);
  return h('div', { class: 'card hero ' + cls, id: 'safe-offline', 'data-safe': String(ov.safe_offline) },
    h('div', { class: 'big' }, symbol),
    h('div', {},
      h('div', { class: 'title' }, title),
      h('div', { class: 'muted' }, text),
      h('div', { class: 'small', id: 'summary' }, ov.summary,
        counted > 5000 ? h('span', { class: 'old' }, ' (counted ' + ago(counted) + ')') : null)));
}

function tallyCards(tally) {
  return h('div', { class: 'tally', id: 'tally' }, app.stateOrder.map((word) => {
    const s = stateOf(word);
    const n = tally[word] || 0;
    return h('div', { class: 'card' + (n === 0 ? ' zero' : ''), 'data-tally': word, title: s.label },
      mark(s.symbol, s.colour), h('div', {}, h('div', { class: 'count' }, n.toLocaleString()), h('div', { class: 'small muted' }, s.label)));
  }));
}

function objectTable(ov) {
  if (ov.objects.length === 0) return h('p', { class: 'muted' }, 'Nothing to list.');
  return h('table', { id: 'objects' },
    h('thead', {}, h('tr', {},
      h('th', {}, 'State'), h('th', {}, 'Object'), h('th', {}, 'Copies'), h('th', {}, 'Last verified'),
      h('th', {}, 'Safe offline'), h('th', { class: 'adv' }, 'CID'))),
    h('tbody', {}, ov.objects.map(objectRow)));
}

function objectRow(o) {
  const link = '#/object/' + encodeURIComponent(o.cid);
  return h('tr', { 'data-cid': o.cid, 'data-state': o.state },
    h('td', {}, stateBadge(o.state)),
    h('td', { class: 'name' }, h('a', { href: link }, o.name || shortID(o.cid)),
      o.name ? h('div', { class: 'small cid mono' }, shortID(o.cid)) : null),
    h('td', {}, o.copies + ' of ' + o.target, o.regions ? h('div', { class: 'small muted' }, 'in ' + plural(o.regions, 'region', 'regions')) : null),
    h('td', { class: o.stale ? 'old' : '' }, o.verified || h('span', { class: 'muted' }, '—')),
    h('td', {}, o.safe_offline ? h('span', { class: 't-green' }, '✓ yes') : h('span', { class: 'muted' }, 'not yet')),
    h('td', { class: 'adv mono small' }, o.cid));
}

function pager(ov) {
  const first = (app.cursors.length - 1) * app.pageSize + 1;
  const last = first + ov.objects.length - 1;
  return h('div', { class: 'pager' },
    h('button', { id: 'prev', disabled: app.cursors.length === 1, onclick: () => { app.cursors.pop(); update(); } }, '← Previous'),
    h('span', { class: 'muted', id: 'range' },
      ov.objects.length ? 'Objects ' + first.toLocaleString() + '–' + last.toLocaleString() + ' of ' + ov.tally.total.toLocaleString() + ', most urgent first' : ''),
    h('button', { id: 'next', disabled: !ov.next, onclick: () => { app.cursors.push(ov.next); update(); } }, 'Next →'));
}

// ---- one object

async function objectPage({ cid }) {
  let v;
  try {
    v = await api('/api/v1/status/' + encodeURIComponent(cid));
  } catch (e) {
    if (e.status !== 404) throw e;
    return h('div', { class: 'notice', id: 'object-missing' },
      h('h2', {}, 'Not found'), h('p', {}, 'This node knows nothing of ', h('code', {}, cid), '.'), h('a', { href: '#/' }, '← All objects'));
  }
  const s = stateOf(v.state);
  const name = app.names.get(cid);
  return h('div', { id: 'object', 'data-cid': v.cid, 'data-state': v.state },
    h('a', { href: '#/', class: 'small back' }, '← All objects'),
    h('h1', { class: 'state' }, mark(s.symbol, s.colour, true), name || 'Object'),
    h('div', { class: 'mono small muted objectcid' }, v.cid),
    h('div', { class: 'card' }, objectFacts(v, s)),
    deletion(v),
    h('h2', {}, 'Where it is held'),
    v.holders.length ? regionCards(v) : h('p', { class: 'muted' }, 'No node claims a copy.'));
}

function objectFacts(v, s) {
  const full = v.last_fully_replicated_at ? ago(Date.parse(v.as_of) - Date.parse(v.last_fully_replicated_at)) : 'never';
  return [
    h('div', {}, h('strong', { class: 't-' + s.colour }, s.label), ': ', v.summary),
    h('div', { class: 'facts' },
      fact('Verified copies', v.copies + ' of ' + v.target + ' wanted'),
      fact('Regions', String(v.regions)),
      fact('Last verified', v.verified ? h('span', { class: v.stale ? 'old' : '' }, v.verified) : 'never', 'verified'),
      fact('Safe to go offline', v.safe_offline ? h('span', { class: 't-green' }, '✓ yes') : 'not yet', 'object-safe'),
      fact('Last fully replicated', full),
      h('div', { class: 'adv' }, h('span', { class: 'label' }, 'As of'), v.as_of)),
  ];
}

function fact(label, value, id) {
  return h('div', { id: id || null }, h('span', { class: 'label' }, label), value);
}

function deletion(v) {
  if (v.deleted_on === undefined) return null;
  return h('div', { class: 'card', id: 'deletion' },
    h('strong', {}, 'Deletion: '), 'applied on ' + v.deleted_on + ' of ' + plural(v.holders_at_deletion, 'holder', 'holders') +
      ', blocks removed on ' + v.purged_on + '.',
    (v.unconfirmed || []).map((u) => h('div', { class: 'small muted' },
      'Not confirmed by ', h('span', { class: 'mono' }, shortID(u.peer_id)), u.age ? ', last seen ' + u.age : ', never seen')));
}

// regionCards draws the map-like grouping: region, then operator, then holders.
function regionCards(v) {
  const regions = new Map();
  for (const hd of v.holders) {
    const region = hd.region || '(not a member)';
    if (!regions.has(region)) regions.set(region, new Map());
    const ops = regions.get(region);
    const op = hd.operator || '(unknown operator)';
    if (!ops.has(op)) ops.set(op, []);
    ops.get(op).push(hd);
  }
  const sorted = [...regions.keys()].sort();
  return h('div', { class: 'regions', id: 'regions' }, sorted.map((region) => {
    const ops = regions.get(region);
    const verified = [...ops.values()].flat().filter((x) => x.state === 'verified').length;
    return h('div', { class: 'card region', 'data-region': region },
      h('h3', {}, region, h('span', { class: 'small ' + (verified ? 't-green' : 'muted') }, plural(verified, 'verified copy', 'verified copies'))),
      [...ops.keys()].sort().map((op) => h('div', { class: 'operator', 'data-operator': op },
        h('div', { class: 'opname' }, op), ops.get(op).map(holderLine))));
  }));
}

function holderLine(hd) {
  const look = HOLDER_LOOK[hd.state] || { symbol: '?', colour: 'grey' };
  return h('div', { class: 'holder', 'data-holder': hd.peer_id, 'data-holder-state': hd.state },
    mark(look.symbol, look.colour),
    h('div', {},
      h('div', {}, holderWords(hd),
        hd.local ? h('span', { class: 'badge' }, 'this node') : null,
        hd.owner ? h('span', { class: 'badge owner' }, 'owner’s node') : null),
      h('div', { class: 'adv advbox' },
        h('div', { class: 'mono' }, hd.peer_id),
        challengeDetail(hd))));
}

function challengeDetail(hd) {
  if (hd.local) return 'this node’s own copy: counted without a challenge' + (hd.reason ? ' — ' + hd.reason : '');
  return 'challenge: ' + hd.state + (hd.verified_at ? ', last passed ' + hd.verified_at : ', never passed') + (hd.reason ? ' — ' + hd.reason : '');
}

function holderWords(hd) {
  switch (hd.state) {
    case 'verified':
      return h('span', {}, hd.local ? 'a copy on this node' : 'verified ' + (hd.age || ''));
    case 'unverified':
      return h('span', { class: 't-blue' }, 'copy announced, not checked yet');
    case 'stale':
      return h('span', { class: 'old' }, 'last verified ' + (hd.age || 'never') + ', too long ago to count');
    case 'failed':
      return h('span', { class: 't-red' }, 'does not count: ' + (hd.reason || 'failed its check'));
    default:
      return h('span', { class: 'muted' }, 'does not count: ' + (hd.reason || hd.state));
  }
}

// ---- peers

async function peersPage() {
  const [members, fed, health, conns] = await Promise.all([
    api('/api/v1/members'),
    api('/api/v1/federation').catch(() => null),
    advanced() ? api('/api/v1/health').catch(() => null) : null,
    advanced() ? api('/api/v1/peers') : [],
  ]);
  showFederation(fed);
  if (members.length === 0) {
    return h('div', { class: 'notice', id: 'peers' }, h('h2', {}, 'Not in a federation yet'),
      h('p', {}, 'Create one with ', h('code', {}, 'cairn federation create'), ' or join one with ', h('code', {}, 'cairn federation join'), '.'));
  }
  const online = members.filter((m) => m.connected).length;
  const regions = new Map();
  for (const m of members) {
    if (!regions.has(m.region)) regions.set(m.region, []);
    regions.get(m.region).push(m);
  }
  return h('div', { id: 'peers' },
    h('h1', {}, 'Peers'),
    h('p', { class: 'muted', id: 'online' }, online + ' of ' + plural(members.length, 'member', 'members') + ' online',
      fed ? ' in ' + fed.name : '', '.'),
    fed ? h('p', { class: 'adv small muted' }, 'Federation ' + fed.federation_id + ', roster version ' + fed.roster_version +
      (fed.holds_authority_key ? ', this node holds the authority key' : '')) : null,
    h('div', { class: 'regions' }, [...regions.keys()].sort().map((region) =>
      h('div', { class: 'card region', 'data-region': region },
        h('h3', {}, region, h('span', { class: 'small muted' }, regions.get(region).filter((m) => m.connected).length + ' online')),
        regions.get(region).sort((a, b) => a.operator.localeCompare(b.operator)).map(memberLine)))),
    health ? healthCard(health) : null,
    advanced() ? connections(conns || []) : null);
}

function memberLine(m) {
  const seen = m.last_seen ? Date.now() - Date.parse(m.last_seen) : null;
  let when;
  if (m.self) when = 'this node';
  else if (m.connected) when = 'online';
  else if (seen === null) when = h('span', { class: 'old' }, 'never seen');
  else when = h('span', { class: seen > 6 * 60 * 1000 ? 'old' : 'muted' }, 'offline, last seen ' + ago(seen));
  return h('div', { class: 'holder', 'data-peer': m.peer_id, 'data-online': String(m.connected) },
    h('span', { class: 'dot' + (m.connected ? ' on' : '') }),
    h('div', {},
      h('div', {}, h('strong', {}, m.operator), ' — ', when),
      h('div', { class: 'adv advbox' },
        h('div', { class: 'mono' }, m.peer_id),
        m.latency_ms ? h('div', {}, 'latency ' + m.latency_ms.toFixed(1) + ' ms') : null,
        (m.addrs || []).map((a) => h('div', { class: 'mono' }, a)))));
}

function healthCard(hl) {
  return h('div', { class: 'adv', id: 'health' },
    h('h2', {}, 'This node'),
    h('div', { class: 'card' },
      h('div', { class: 'facts' },
        fact('Challenges passed', String(hl.challenges_passed)),
        fact('Challenges failed', String(hl.challenges_failed)),
        fact('Repair queue', String(hl.repair_queue)),
        fact('Deletions not yet confirmed', String(hl.tombstones_pending)),
        fact('Last restore drill', drillText(hl.last_drill))),
      ((hl.last_drill && hl.last_drill.failures) || []).map((f) => h('div', { class: 't-orange' },
        '⚠ did not read back from the other members: ', f)),
      (hl.flagged || []).map((f) => h('div', { class: 't-orange' },
        '⚠ ', f.operator || shortID(f.peer_id), ': ', f.reason, f.age ? ' (since ' + f.age + ')' : ''))));
}

// drillText says what the latest restore drill (cairn verify) found.
function drillText(d) {
  if (!d) return 'none yet';
  const failed = (d.failures || []).length;
  const what = failed ? failed + ' of ' + d.objects + ' did not read back' : d.objects + ' read back';
  return what + ', ' + ago(Date.now() - Date.parse(d.at));
}

function connections(conns) {
  return h('div', { class: 'adv' },
    h('h2', {}, 'Connections'),
    conns.length === 0 ? h('p', { class: 'muted' }, 'No open connections.') :
      h('table', {}, h('thead', {}, h('tr', {}, h('th', {}, 'Peer'), h('th', {}, 'Addresses'))),
        h('tbody', {}, conns.map((c) => h('tr', {}, h('td', { class: 'mono small' }, c.peer_id),
          h('td', { class: 'mono small' }, (c.addrs || []).join(' ')))))));
}

function showFederation(fed) {
  $('federation').textContent = fed ? fed.name : '';
}

// ---- start

async function start() {
  setAdvanced(localStorage.getItem(ADVANCED_KEY) === '1');
  $('advanced').addEventListener('change', (e) => {
    setAdvanced(e.target.checked);
    update();
  });
  await loadStates();
  window.addEventListener('hashchange', () => {
    app.token = takeToken();
    update();
  });
  setInterval(showLiveness, 1000);
  app.token = takeToken();
  if (!app.token) {
    showNoToken();
    return;
  }
  api('/api/v1/federation').then(showFederation, () => {});
  update();
}

start().catch((e) => showBanner('The dashboard could not start: ' + e.message, true));
