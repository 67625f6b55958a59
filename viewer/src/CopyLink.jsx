// The "Copy link to this view" button: writes the current channels and camera
// into the page URL's fragment and copies that URL (or shows it to copy by hand).

import { useState } from 'react';
import { linkToView, copyText } from './share.js';
import { hooks } from './hooks.js';

export function CopyLinkButton({ channels, viewState }) {
  const [shown, setShown] = useState(null); // {link, copied}
  const onClick = async () => {
    const link = linkToView(channels, viewState);
    window.history.replaceState(null, '', link);
    hooks.lastLink = link;
    setShown({ link, copied: await copyText(link) });
  };
  return (
    <div className="share">
      <button id="copy-link" type="button" onClick={onClick} disabled={!viewState}>
        Copy link to this view
      </button>
      {shown && (
        <p id="copy-link-result" className="share-note">
          {shown.copied ? 'Link copied: it opens with these channels and this camera.' : 'Copy this link:'}
          {!shown.copied && <input readOnly value={shown.link} onFocus={(e) => e.target.select()} />}
        </p>
      )}
    </div>
  );
}
