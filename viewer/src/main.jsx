import { createRoot } from 'react-dom/client';
import App from './App.jsx';
import { hooks, setStatus } from './hooks.js';
import { startEarly } from './startup.js';

// Before anything else: the WebGL2 check and the first requests (see startup.js).
const start = startEarly();
window.__vivViewer = hooks;
setStatus('loading');
createRoot(document.getElementById('app')).render(<App start={start} />);
