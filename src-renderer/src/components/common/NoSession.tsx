/**
 * What a page opened without a session shows (a bookmark after the engine restarted,
 * a link pasted into another browser): how to open Lathe, instead of errors beside
 * empty lists.
 */
export function NoSession() {
  return (
    <main className="no-session" aria-labelledby="no-session-title">
      <div className="card no-session-card">
        <h1 id="no-session-title">
          <span className="brand-mark" aria-hidden="true">
            ◐
          </span>{' '}
          Open Lathe from its link
        </h1>
        <p>
          This page has no session with the Lathe engine at {window.location.host}. The engine lets in only pages opened from the link it printed when it
          started.
        </p>
        <ol>
          <li>
            In the terminal where <span className="mono">lathe ui</span> runs, open the URL it printed (it ends in <span className="mono">#token=…</span>).
            After that, other tabs, reloads and bookmarks of this engine work.
          </li>
          <li>
            Or start it again with <span className="mono">lathe ui --open</span>, which opens the browser signed in.
          </li>
        </ol>
        <p className="muted">If the engine was restarted, its old link no longer works: use the new one.</p>
        <button type="button" className="btn" onClick={() => window.location.reload()}>
          Try again
        </button>
      </div>
    </main>
  )
}
