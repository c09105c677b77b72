import type { Migration } from './types.js'

export const migration005: Migration = {
  version: 5,
  name: 'monitoring: monitors, alert rules, monitor reports, alerts',
  up(db) {
    db.exec(`
      -- A monitor: which model, what it compares (reference, window, features) and how often.
      CREATE TABLE monitors (
        id                TEXT PRIMARY KEY,
        name              TEXT NOT NULL UNIQUE,
        model             TEXT NOT NULL,
        spec_json         TEXT NOT NULL,
        enabled           INTEGER NOT NULL DEFAULT 1,
        created_at        TEXT NOT NULL,
        last_run_at       TEXT,
        -- Logged rows for the model when it last ran: the "every N requests" schedule counts from here.
        last_run_requests INTEGER NOT NULL DEFAULT 0
      ) STRICT;

      CREATE TABLE alert_rules (
        id           TEXT PRIMARY KEY,
        monitor_id   TEXT NOT NULL REFERENCES monitors(id) ON DELETE CASCADE,
        name         TEXT NOT NULL,
        metric       TEXT NOT NULL,
        op           TEXT NOT NULL CHECK (op IN ('>', '>=', '<', '<=', '==', '!=')),
        threshold    REAL NOT NULL,
        actions_json TEXT NOT NULL,
        enabled      INTEGER NOT NULL DEFAULT 1,
        created_at   TEXT NOT NULL
      ) STRICT;
      CREATE INDEX alert_rules_monitor ON alert_rules(monitor_id);

      -- Every run of a monitor (or a drift report asked for by hand): the values rules read
      -- and the full report the charts draw, so drift and quality can be shown over time.
      CREATE TABLE monitor_reports (
        id          TEXT PRIMARY KEY,
        monitor_id  TEXT REFERENCES monitors(id) ON DELETE SET NULL,
        model       TEXT NOT NULL,
        version     INTEGER,
        time        TEXT NOT NULL,
        values_json TEXT NOT NULL,
        report_json TEXT NOT NULL
      ) STRICT;
      CREATE INDEX monitor_reports_model_time ON monitor_reports(model, time);

      CREATE TABLE alerts (
        id              TEXT PRIMARY KEY,
        rule_id         TEXT REFERENCES alert_rules(id) ON DELETE SET NULL,
        monitor_id      TEXT REFERENCES monitors(id) ON DELETE SET NULL,
        report_id       TEXT REFERENCES monitor_reports(id) ON DELETE SET NULL,
        model           TEXT NOT NULL,
        time            TEXT NOT NULL,
        metric          TEXT NOT NULL,
        value           REAL,
        op              TEXT NOT NULL,
        threshold       REAL NOT NULL,
        message         TEXT NOT NULL,
        status          TEXT NOT NULL DEFAULT 'open' CHECK (status IN ('open', 'acknowledged')),
        acknowledged_at TEXT,
        acknowledged_by TEXT,
        -- What each action did: notified, webhook delivered after N tries, retrain run and gate outcome.
        actions_json    TEXT NOT NULL DEFAULT '[]'
      ) STRICT;
      CREATE INDEX alerts_model_time ON alerts(model, time);
    `)
  },
}
