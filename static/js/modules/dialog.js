// The confirmation <dialog> (#confirm-dialog) shared by the panels: a question, an OK
// button with its own label, and a promise of the answer. Not a panel: it holds no state.

// Resolves to true when the user chose OK, false on « Annuler » or Échap.
export function confirmDialog(dialog, text, okLabel = 'Supprimer') {
  dialog.querySelector('#confirm-text').textContent = text;
  dialog.querySelector('#confirm-ok').textContent = okLabel;
  dialog.returnValue = '';
  dialog.showModal();
  return new Promise((resolve) => {
    dialog.addEventListener('close', () => resolve(dialog.returnValue === 'ok'), { once: true });
  });
}
