// The page for the ResNeSt Functions app. No framework and nothing fetched from elsewhere: the Content-Security-Policy
// allows this origin only. The function key lives in sessionStorage (this tab) and travels as x-functions-key.
'use strict';

(() => {
  const KEY = 'resnest.functionKey';
  const POLL_MS = 1000;
  const POLL_LIMIT_MS = 180000;
  const PAGE_SIZE = 12;
  const $ = (selector) => document.querySelector(selector);

  class ApiError extends Error {
    constructor(status, code, message) {
      super(message);
      this.status = status;
      this.code = code;
    }
  }

  const el = (tag, props = {}, ...children) => {
    const node = document.createElement(tag);
    for (const [name, value] of Object.entries(props)) {
      if (name === 'dataset') Object.assign(node.dataset, value);
      else if (name in node) node[name] = value;
      else node.setAttribute(name, value);
    }
    node.append(...children);
    return node;
  };

  // A blob name as the 'blob' query parameter: the whole name escaped. The path form (/api/results/a/b.jpg) cannot
  // carry every name Azure allows (the host resolves '..' segments, '?' and '#' end the path); the query form can.
  const blobQuery = (name) => `blob=${encodeURIComponent(name)}`;
  const percent = (p) => `${(p * 100).toFixed(1)}%`;
  const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

  function setKeyStatus(text, bad) {
    const status = $('#key-status');
    status.textContent = text;
    status.classList.toggle('bad', Boolean(bad));
  }

  async function api(path, init = {}) {
    const key = sessionStorage.getItem(KEY);
    if (!key) {
      setKeyStatus('Enter the function key first.', true);
      throw new ApiError(0, 'no_key', 'No function key entered.');
    }
    const headers = new Headers(init.headers || {});
    headers.set('x-functions-key', key);
    let response;
    try {
      response = await fetch(path, { ...init, headers, cache: 'no-store', credentials: 'omit', referrerPolicy: 'no-referrer' });
    } catch {
      throw new ApiError(0, 'network', 'The app could not be reached.');
    }
    if (response.status === 401 || response.status === 403) {
      setKeyStatus(`The function key was refused (HTTP ${response.status}). Enter the app's function key again (portal: Function App → App keys).`, true);
      throw new ApiError(response.status, 'unauthorized', 'The function key was refused.');
    }
    return response;
  }

  // The problem document's detail (RFC 9457), written by the app for the caller.
  async function problemOf(response) {
    try {
      const problem = await response.json();
      return new ApiError(response.status, problem.code || 'error', problem.detail || problem.title || `HTTP ${response.status}`);
    } catch {
      return new ApiError(response.status, 'error', `HTTP ${response.status}`);
    }
  }

  async function json(path, init) {
    const response = await api(path, init);
    if (!response.ok) throw await problemOf(response);
    return response.json();
  }

  // ---- key ----
  $('#key-form').addEventListener('submit', async (event) => {
    event.preventDefault();
    const input = $('#key-input');
    const key = input.value.trim();
    input.value = '';
    if (!key) return;
    sessionStorage.setItem(KEY, key);
    setKeyStatus('Checking the key…');
    try {
      await json('/api/results?label=tench&top=1');
      setKeyStatus('Key accepted (kept for this tab only).');
    } catch (error) {
      if (error.code !== 'unauthorized') setKeyStatus(`The key could not be checked: ${error.message}`, true);
    }
  });
  $('#key-forget').addEventListener('click', () => {
    sessionStorage.removeItem(KEY);
    setKeyStatus('Key forgotten.');
  });
  if (sessionStorage.getItem(KEY)) setKeyStatus('Using the key entered earlier in this tab.');

  // ---- thumbnails: fetched with the key, shown through blob: URLs ----
  async function loadThumbnail(img, name, size) {
    try {
      const response = await api(`/api/thumbnails?${blobQuery(name)}&size=${size}`);
      if (!response.ok) throw await problemOf(response);
      const url = URL.createObjectURL(await response.blob());
      img.addEventListener('load', () => URL.revokeObjectURL(url), { once: true });
      img.src = url;
    } catch (error) {
      img.alt = `No preview: ${error.message}`;
      img.title = img.alt;
    }
  }

  function bars(predictions) {
    return el('ol', { className: 'bars' }, ...predictions.map((p) => {
      const fill = el('div', { className: 'fill' });
      fill.style.width = percent(p.probability); // CSSOM, which the policy allows (no inline style attributes)
      return el('li', {},
        el('span', { className: 'label', title: p.label }, p.label),
        el('span', { className: 'pct' }, percent(p.probability)),
        el('div', { className: 'track', role: 'presentation' }, fill));
    }));
  }

  // ---- gallery ----
  const gallery = $('#gallery');
  const seenLabels = new Set();
  let galleryQuery = null;

  function rememberLabel(label) {
    if (seenLabels.has(label)) return;
    seenLabels.add(label);
    $('#labels').append(el('option', { value: label }));
  }

  function card(name, result) {
    const img = el('img', { alt: `Thumbnail of ${name}`, width: 180, height: 180, loading: 'lazy' });
    const top = el('div', { className: 'top5' });
    const button = el('button', { type: 'button', className: 'card', dataset: { name } },
      img, el('span', { className: 'name' }, name), top);
    button.addEventListener('click', () => openDetail(name));
    loadThumbnail(img, name, 256);
    const fill = (r) => {
      top.replaceChildren(bars(r.predictions || []));
      button.dataset.label = r.top1 ? r.top1.label : '';
    };
    if (result) fill(result);
    else json(`/api/results?${blobQuery(name)}`).then(fill, (error) => top.replaceChildren(el('span', { className: 'bad' }, error.message)));
    return el('li', {}, button);
  }

  async function showLabel(label, continuationToken) {
    const status = $('#gallery-status');
    const more = $('#more');
    if (!continuationToken) gallery.replaceChildren();
    status.classList.remove('bad');
    status.textContent = `Loading “${label}”…`;
    more.hidden = true;
    const query = new URLSearchParams({ label, top: String(PAGE_SIZE) });
    if (continuationToken) query.set('continuationToken', continuationToken);
    try {
      const page = await json(`/api/results?${query}`);
      for (const item of page.items) gallery.append(card(item.name));
      const shown = gallery.children.length;
      status.textContent = shown ? `${shown} image${shown === 1 ? '' : 's'} labelled “${page.label}”.` : `No image is labelled “${page.label}” yet.`;
      galleryQuery = page.continuationToken ? { label, continuationToken: page.continuationToken } : null;
      more.hidden = !galleryQuery;
    } catch (error) {
      status.textContent = error.message;
      status.classList.add('bad');
    }
  }

  $('#label-form').addEventListener('submit', (event) => {
    event.preventDefault();
    const label = $('#label-input').value.trim();
    if (label) showLabel(label);
  });
  $('#more').addEventListener('click', () => {
    if (galleryQuery) showLabel(galleryQuery.label, galleryQuery.continuationToken);
  });

  // ---- detail ----
  function definitions(target, entries) {
    target.replaceChildren(...entries.filter(([, v]) => v !== null && v !== undefined && v !== '')
      .flatMap(([k, v]) => [el('dt', {}, k), el('dd', {}, String(v))]));
    if (!target.children.length) target.append(el('dt', {}, '—'), el('dd', {}, 'none'));
  }

  async function openDetail(name) {
    const dialog = $('#detail');
    $('#detail-title').textContent = name;
    const img = $('#detail-image');
    img.removeAttribute('src');
    img.alt = `Image ${name}`;
    $('#detail-top5').replaceChildren();
    for (const id of ['#detail-model', '#detail-timings', '#detail-tags']) $(id).replaceChildren();
    dialog.dataset.loaded = 'false';
    if (!dialog.open) dialog.showModal();
    loadThumbnail(img, name, 512);
    const ms = (v) => (v === null || v === undefined ? null : `${v.toFixed(1)} ms`);
    try {
      const [result, tags] = await Promise.all([
        json(`/api/results?${blobQuery(name)}`),
        json(`/api/tags?${blobQuery(name)}`),
      ]);
      $('#detail-top5').replaceWith(Object.assign(bars(result.predictions || []), { id: 'detail-top5' }));
      const m = result.model || {};
      definitions($('#detail-model'), [['variant', m.variant], ['recipe', m.recipe], ['crop', m.cropSize], ['provider', m.executionProvider],
        ['sha256', m.sha256 ? `${m.sha256.slice(0, 16)}…` : null], ['status', result.status], ['processed', result.processedAt],
        ['image', result.image ? `${result.image.format} ${result.image.width}×${result.image.height}` : null]]);
      const t = result.timings || {};
      definitions($('#detail-timings'), [['download', ms(t.downloadMs)], ['decode + preprocess', ms(t.decodeAndPreprocessMs)],
        ['queue wait', ms(t.queueWaitMs)], ['inference', ms(t.inferenceMs)], ['batch size', t.batchSize]]);
      definitions($('#detail-tags'), Object.entries(tags.tags));
      dialog.dataset.loaded = 'true';
    } catch (error) {
      definitions($('#detail-model'), [['error', error.message]]);
      dialog.dataset.loaded = 'error';
    }
  }

  // ---- upload ----
  const drop = $('#drop');
  const fileInput = $('#file-input');
  drop.addEventListener('click', () => fileInput.click());
  drop.addEventListener('keydown', (event) => {
    if (event.key === 'Enter' || event.key === ' ') {
      event.preventDefault();
      fileInput.click();
    }
  });
  drop.addEventListener('dragover', (event) => {
    event.preventDefault();
    drop.classList.add('over');
  });
  drop.addEventListener('dragleave', () => drop.classList.remove('over'));
  drop.addEventListener('drop', (event) => {
    event.preventDefault();
    drop.classList.remove('over');
    uploadAll([...event.dataTransfer.files]);
  });
  fileInput.addEventListener('change', () => {
    uploadAll([...fileInput.files]);
    fileInput.value = '';
  });

  async function uploadAll(files) {
    // One at a time: the rows show progress in order and a phone's uplink is not split.
    for (const file of files) await upload(file);
  }

  async function upload(file) {
    const progress = el('progress', { max: 3, value: 0 });
    const state = el('span', { className: 'state' }, 'uploading…');
    const row = el('li', { dataset: { status: 'uploading', file: file.name } }, el('span', { className: 'file' }, file.name), progress, state);
    progress.setAttribute('aria-label', `Progress of ${file.name}`);
    $('#uploads').append(row);
    const set = (status, text, step) => {
      row.dataset.status = status;
      state.textContent = text;
      if (step !== undefined) progress.value = step;
    };
    let name;
    try {
      const response = await api('/api/uploads', {
        method: 'POST',
        body: file,
        // The app decides the type from the bytes; the browser's guess from the extension is not sent.
        headers: { 'content-type': 'application/octet-stream', 'x-resnest-file-name': encodeURIComponent(file.name) },
      });
      if (response.status !== 201) throw await problemOf(response);
      name = (await response.json()).name;
      row.dataset.name = name;
      set('pending', 'uploaded; waiting for classification…', 1);
    } catch (error) {
      set('failed', `refused: ${error.message}`, 0);
      return;
    }
    // Watched in the background: the next file uploads meanwhile.
    watch(name, set);
  }

  async function watch(name, set) {
    const deadline = Date.now() + POLL_LIMIT_MS;
    while (Date.now() < deadline) {
      await sleep(POLL_MS);
      let response;
      try {
        response = await api(`/api/results?${blobQuery(name)}`);
      } catch (error) {
        set('failed', error.message);
        return;
      }
      if (response.status === 404) continue; // no event processed yet
      if (!response.ok) {
        set('failed', (await problemOf(response)).message);
        return;
      }
      const result = await response.json();
      if (result.status === 'succeeded') {
        set('classified', `${result.top1.label} (${percent(result.top1.probability)})`, 3);
        rememberLabel(result.top1.label);
        if (!galleryQuery) gallery.prepend(card(name, result));
        return;
      }
      if (result.status === 'failed') {
        set('failed', `failed: ${result.error ? result.error.message : 'no reason recorded'}`, 3);
        return;
      }
      set('pending', 'classifying…', 2);
    }
    set('failed', 'no result yet after 3 minutes; is the Event Grid subscription in place?');
  }

  // ---- batch tagging ----
  $('#batch-form').addEventListener('submit', async (event) => {
    event.preventDefault();
    const status = $('#batch-status');
    const bar = $('#batch-progress');
    const button = event.submitter || $('#batch-form button');
    status.classList.remove('bad');
    button.disabled = true;
    try {
      let job = await json('/api/batches', {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ prefix: $('#batch-prefix').value }),
      });
      bar.hidden = false;
      bar.value = 0;
      const deadline = Date.now() + POLL_LIMIT_MS;
      for (;;) {
        const done = job.succeeded + job.failed + job.skipped;
        bar.max = Math.max(1, job.queued);
        bar.value = job.status === 'completed' ? bar.max : done;
        status.dataset.status = job.status;
        status.textContent = `Job ${job.id.slice(0, 8)}: ${job.status}, ${done} of ${job.queued} done (${job.succeeded} tagged, ${job.failed} failed, ${job.skipped} skipped).`;
        if (job.status === 'completed' || Date.now() > deadline) break;
        await sleep(POLL_MS);
        job = await json(`/api/batches/${encodeURIComponent(job.id)}`);
      }
    } catch (error) {
      status.dataset.status = 'error';
      status.textContent = error.message;
      status.classList.add('bad');
    } finally {
      button.disabled = false;
    }
  });
})();
