// React, deck.gl and Viv: evaluated only when main.jsx imports this module.
import { createRoot } from 'react-dom/client';
import App from './App.jsx';
import { useNativeDeflate } from './deflate.js';

export function mount(start) {
  useNativeDeflate();
  createRoot(document.getElementById('app')).render(<App start={start} />);
}
