// The channel list: a filter box, "All" / "None" for the listed channels, and a
// scrollable list of rows (each row's checkbox, colour and limits as before).
import { useState } from 'react';

export function matches(name, query) {
  const q = query.trim().toLowerCase();
  return !q || String(name).toLowerCase().includes(q);
}

export function ChannelsPanel({ channels, onChange, onSetVisible, Row, rowProps }) {
  const [query, setQuery] = useState('');
  const listed = channels.map((c, i) => [c, i]).filter(([c]) => matches(c.name, query));
  const visibleCount = channels.filter((c) => c.visible).length;
  const indices = listed.map(([, i]) => i);
  return (
    <>
      <h2 className="section">
        Channels{' '}
        <span className="count">
          {visibleCount} of {channels.length} shown
        </span>
      </h2>
      {channels.length > 1 && (
        <div className="channel-tools">
          <input
            type="search"
            className="channel-filter"
            placeholder="Filter channels"
            aria-label="Filter channels by name"
            value={query}
            onChange={(e) => setQuery(e.target.value)}
          />
          <button type="button" className="show-all" title="Show the listed channels"
            onClick={() => onSetVisible(indices, true)}>All</button>
          <button type="button" className="show-none" title="Hide the listed channels"
            onClick={() => onSetVisible(indices, false)}>None</button>
        </div>
      )}
      <ul className={`channels${channels.length > 8 ? ' many' : ''}`}>
        {listed.map(([c, i]) => (
          <Row key={i} index={i} channel={c} onChange={onChange} {...rowProps} />
        ))}
        {listed.length === 0 && <li className="no-match">No channel matches “{query}”.</li>}
      </ul>
    </>
  );
}
