import assert from 'node:assert/strict';
import { test } from 'node:test';

import { confirmDialog } from '../../static/js/modules/dialog.js';

// Just enough of <dialog id="confirm-dialog"> for confirmDialog: its two texts, showModal
// and the 'close' event (once).
function fakeDialog() {
  const parts = { '#confirm-text': { textContent: '' }, '#confirm-ok': { textContent: 'Supprimer' } };
  let onClose = null;
  return {
    parts,
    returnValue: 'stale',
    shown: 0,
    querySelector: (selector) => parts[selector],
    showModal() { this.shown += 1; },
    addEventListener(type, handler, options) {
      assert.equal(type, 'close');
      assert.equal(options?.once, true);
      onClose = handler;
    },
    close(value) {
      this.returnValue = value;
      onClose?.();
    },
  };
}

test('the dialog shows the question and the OK label, then resolves true on OK', async () => {
  const dialog = fakeDialog();
  const answer = confirmDialog(dialog, 'Révoquer la clé « a » ?', 'Révoquer');
  assert.equal(dialog.shown, 1);
  assert.equal(dialog.returnValue, '', 'a previous answer must not leak into this one');
  assert.equal(dialog.parts['#confirm-text'].textContent, 'Révoquer la clé « a » ?');
  assert.equal(dialog.parts['#confirm-ok'].textContent, 'Révoquer');
  dialog.close('ok');
  assert.equal(await answer, true);
});

test('« Annuler » or Échap resolves false; the OK label defaults to « Supprimer »', async () => {
  const dialog = fakeDialog();
  const cancelled = confirmDialog(dialog, 'Supprimer la session ?');
  assert.equal(dialog.parts['#confirm-ok'].textContent, 'Supprimer');
  dialog.close('cancel');
  assert.equal(await cancelled, false);
  const escaped = confirmDialog(dialog, 'Supprimer la session ?');
  dialog.close(''); // Échap closes the dialog without a returnValue
  assert.equal(await escaped, false);
});
