import { createRoot } from 'react-dom/client';
import App from './App.jsx';
import { hooks, setStatus } from './hooks.js';

window.__vivViewer = hooks;
setStatus('loading');
createRoot(document.getElementById('app')).render(<App />);
