// Entry point: creates the bus, lets each panel set itself up, then loads the page and
// opens /ws. Panels never import each other: they only talk through the bus (bus.js).
import { createAnalyticsPanel } from './modules/analytics.js';
import { createAuditPanel } from './modules/audit.js';
import { createBus } from './modules/bus.js';
import { createGlobalTotalsPanel } from './modules/global_totals.js';
import { createInspectorPanel } from './modules/inspector.js';
import { createKeysPanel } from './modules/keys.js';
import { createMcpPanel } from './modules/mcp.js';
import { setupPage } from './modules/page.js';
import { createProvidersPanel } from './modules/providers.js';
import { createSavingsPanel } from './modules/savings.js';
import { createSessionViewPanel } from './modules/session_view.js';
import { createSessionsPanel } from './modules/sessions.js';
import { connectSocket } from './modules/socket.js';
import { setupToast } from './modules/toast.js';

function main() {
  const bus = createBus();
  setupToast({ bus });
  const page = setupPage({ bus });
  // Subscription order is the order panels react to one event (savings lists a masking
  // event before the session view refetches its totals; the reload starts with sessions).
  createSessionsPanel({ bus });
  createSavingsPanel({ bus });
  const { view } = createSessionViewPanel({ bus });
  createGlobalTotalsPanel({ bus });
  createMcpPanel({ bus });
  createKeysPanel({ bus });
  createAuditPanel({ bus });
  createProvidersPanel({ bus });
  const analytics = createAnalyticsPanel({ bus });
  createInspectorPanel({ bus });

  page.refreshAll();
  connectSocket(bus);
  globalThis.kimiDashboard = { view, bus, analytics }; // read by the end-to-end tests
}

main();
