// React, deck.gl and Viv: evaluated only when main.jsx imports this module.
import { createRoot } from 'react-dom/client';
import App from './App.jsx';

export function mount(start) {
  createRoot(document.getElementById('app')).render(<App start={start} />);
}
