// The dashboard's own rules, read from the sources: panels talk only through the bus.
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { test } from 'node:test';

const ROOT = new URL('../../static/js/', import.meta.url);
const MODULES = readdirSync(new URL('modules/', ROOT)).filter((name) => name.endsWith('.js')).sort();
const source = (path) => readFileSync(new URL(path, ROOT), 'utf8');

// Shared modules hold no panel: helpers, rendering, the bus, the API, the socket, the dialog.
// Any other module is a panel (or the toast, or the page): only main.js may import it.
const SHARED = new Set([
  'api.js', 'bus.js', 'chart.js', 'daily_charts.js', 'dialog.js', 'format.js', 'gauge.js',
  'log.js', 'socket.js', 'window.js',
]);
const PANELS = MODULES.filter((name) => !SHARED.has(name));

function importsOf(text) {
  const found = [];
  for (const m of text.matchAll(/\bimport\s*(?:[^'"();]*?\bfrom\s*)?\(?\s*['"]([^'"]+)['"]/g)) {
    found.push(m[1]);
  }
  return found;
}

test('the import reader sees static, bare and dynamic imports', () => {
  const text = "import { a } from './a.js';\nimport './b.js';\nimport {\n  c,\n} from \"./c.js\";\nawait import('./d.js');";
  assert.deepEqual(importsOf(text), ['./a.js', './b.js', './c.js', './d.js']);
});

test('no module under modules/ imports a panel: only shared modules', () => {
  for (const name of MODULES) {
    for (const target of importsOf(source(`modules/${name}`))) {
      assert.match(target, /^\.\/[\w.]+\.js$/, `${name} importe ${target}`);
      assert.ok(SHARED.has(target.slice(2)), `${name} importe le panneau ${target}`);
    }
  }
});

test('every panel is set up by main.js, with the bus alone', () => {
  const main = source('main.js');
  for (const name of PANELS) {
    const text = source(`modules/${name}`);
    const setups = [...text.matchAll(/^export function ((?:create\w+Panel|setup\w+))\(([^)]*)\)/gm)];
    assert.equal(setups.length, 1, `${name} : une seule fonction create…Panel ou setup…`);
    const [, fn, params] = setups[0];
    assert.equal(params, '{ bus }', `${fn} ne reçoit que le bus (pas de rappel, pas d'éléments)`);
    assert.ok(importsOf(main).includes(`./modules/${name}`), `main.js n'importe pas ${name}`);
    assert.match(main, new RegExp(`\\b${fn}\\(\\{ bus \\}\\)`), `main.js n'appelle pas ${fn}`);
  }
});

test('only toast.js shows toasts; panels emit them', () => {
  for (const name of MODULES.filter((n) => n !== 'toast.js')) {
    const text = source(`modules/${name}`);
    assert.doesNotMatch(text, /getElementById\('toast'\)|#toast/, `${name} touche #toast`);
    assert.doesNotMatch(text, /\btoast\(/, `${name} appelle un rappel toast()`);
  }
});

test('named exports only, and main.js keeps every function short', () => {
  for (const path of [...MODULES.map((n) => `modules/${n}`), 'main.js']) {
    assert.doesNotMatch(source(path), /export\s+default/, path);
  }
  const lines = source('main.js').split('\n');
  lines.forEach((line, start) => {
    if (!/^(async )?function /.test(line)) return;
    const length = lines.slice(start).findIndex((l) => l === '}') + 1;
    assert.ok(length > 0 && length <= 60, `main.js : ${line.trim()} fait ${length} lignes`);
  });
});
