// A little DOM, enough to drive a panel from node --test: elements with children, text,
// dataset, listeners, the selectors the modules use ('#id', 'tag', 'tag[data-x]',
// 'tag[attr^="…"]'), <dialog>, plus a fetch that answers from a table. Not a browser:
// the real page is tested with Playwright (tests/dashboard/).

function matches(el, selector) {
  if (selector.startsWith('#')) return el.id === selector.slice(1);
  const prefixed = /^(\w+)\[(\w+)\^="([^"]*)"\]$/.exec(selector); // a[href^="/api/"]
  if (prefixed) {
    const [, tag, name, start] = prefixed;
    return el.tagName === tag.toUpperCase() && String(el[name] ?? '').startsWith(start);
  }
  const [, tag, data] = /^(\w*)(?:\[data-([\w-]+)\])?$/.exec(selector) ?? [];
  if (tag === undefined) throw new Error(`sélecteur non pris en charge : ${selector}`);
  const key = data?.replace(/-(\w)/g, (_, c) => c.toUpperCase());
  return (!tag || el.tagName === tag.toUpperCase()) && (!key || key in el.dataset);
}

export class FakeElement {
  constructor(tag, props = {}) {
    this.tagName = tag.toUpperCase();
    this.children = [];
    this.parent = null;
    this.dataset = {};
    this.attributes = {};
    this.listeners = {};
    this.hidden = false;
    this.text = '';
    this.style = {};
    const classes = new Set();
    this.classList = {
      add: (name) => classes.add(name),
      remove: (name) => classes.delete(name),
      contains: (name) => classes.has(name),
    };
    Object.assign(this, props);
  }

  get textContent() {
    return this.text + this.children.map((c) => c.textContent).join('');
  }

  set textContent(value) {
    this.children = [];
    this.text = String(value);
  }

  append(...nodes) {
    for (const node of nodes) {
      if (node?.tagName === '#FRAGMENT') {
        this.append(...node.children);
        node.children = [];
        continue;
      }
      const child = typeof node === 'string' ? new FakeElement('#text', { text: node }) : node;
      child.parent = this;
      this.children.push(child);
    }
  }

  replaceChildren(...nodes) {
    this.children = [];
    this.text = '';
    this.append(...nodes);
  }

  setAttribute(name, value) { this.attributes[name] = String(value); }

  getAttribute(name) { return this.attributes[name] ?? this[name] ?? null; }

  focus() {}

  click() { this.clicked = (this.clicked ?? 0) + 1; }

  remove() {
    if (this.parent) this.parent.children = this.parent.children.filter((c) => c !== this);
    this.parent = null;
  }

  select() {}

  reset() { this.wasReset = true; }

  addEventListener(type, handler, options = {}) {
    (this.listeners[type] ??= []).push({ handler, once: Boolean(options.once) });
  }

  // Runs the listeners and returns what they return (async handlers: await it).
  fire(type, event = {}) {
    const listeners = this.listeners[type] ?? [];
    this.listeners[type] = listeners.filter((l) => !l.once);
    const full = { target: this, preventDefault() {}, ...event };
    return Promise.all(listeners.map((l) => l.handler(full)));
  }

  closest(selector) {
    for (let el = this; el; el = el.parent) if (matches(el, selector)) return el;
    return null;
  }

  all(selector) {
    return this.children.flatMap((c) => [...(matches(c, selector) ? [c] : []), ...c.all(selector)]);
  }

  querySelectorAll(selector) {
    return this.all(selector);
  }

  replaceWith(node) {
    const siblings = this.parent?.children ?? [];
    siblings.splice(siblings.indexOf(this), 1, node);
    node.parent = this.parent;
    this.parent = null;
  }

  querySelector(selector) {
    return this.all(selector)[0] ?? null;
  }

  find(text) {
    return this.all('').find((el) => el.text === text) ?? null;
  }
}

// <dialog>: showModal answers by itself with `answer` ('ok', 'cancel'...), as a click would.
export class FakeDialog extends FakeElement {
  constructor(props) {
    super('dialog', props);
    this.answer = 'ok';
    this.open = false;
  }

  showModal() {
    this.open = true;
    queueMicrotask(() => this.close(this.answer));
  }

  close(value = '') {
    this.open = false;
    this.returnValue = value;
    this.fire('close');
  }
}

const json = (body, status = 200) => new Response(JSON.stringify(body), {
  status, headers: { 'Content-Type': 'application/json' },
});

// Installs document, FormData and fetch on globalThis; `routes` maps 'GET /path' to a
// body (answered 200, or `null` for 204) or to a function of the request body.
export function installFakeDom(elements, routes = {}) {
  const saved = {
    document: globalThis.document, FormData: globalThis.FormData, fetch: globalThis.fetch,
    requestAnimationFrame: globalThis.requestAnimationFrame,
  };
  globalThis.requestAnimationFrame = (callback) => setTimeout(callback, 0);
  const byId = new Map();
  const register = (el) => {
    if (el.id) byId.set(el.id, el);
    el.children.forEach(register);
  };
  elements.forEach(register);
  const calls = [];
  const headers = [];
  const body = new FakeElement('body');
  body.append(...elements);
  globalThis.document = {
    body,
    querySelectorAll: (selector) => body.all(selector),
    createElement: (tag) => new FakeElement(tag),
    createDocumentFragment: () => new FakeElement('#fragment'),
    getElementById: (id) => byId.get(id) ?? null,
  };
  globalThis.FormData = class {
    constructor(form) { this.values = form.values ?? {}; }

    entries() { return Object.entries(this.values)[Symbol.iterator](); }
  };
  globalThis.fetch = async (path, init = {}) => {
    const method = init.method ?? 'GET';
    calls.push(`${method} ${path}`);
    headers.push(init.headers ?? {});
    const route = routes[`${method} ${path}`];
    if (route === undefined) return json({ error: { message: `Route inconnue : ${path}` } }, 404);
    const answer = typeof route === 'function' ? route(init.body && JSON.parse(init.body)) : route;
    if (answer instanceof Response) return answer;
    return answer === null ? new Response(null, { status: 204 }) : json(answer);
  };
  return {
    calls,
    headers,
    restore: () => Object.assign(globalThis, saved),
  };
}

export { json };

// Lets pending promise callbacks (fetch, dialog answer) run.
export const settle = () => new Promise((resolve) => setTimeout(resolve, 0));
