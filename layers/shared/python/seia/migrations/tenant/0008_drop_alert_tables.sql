-- Contract after 0005's expand: migration 0005 turned every per-window alert (and its causes) into
-- incidents; nothing has read or written drift_alerts and drift_causes since. They go.
DROP TABLE drift_causes;
DROP TABLE drift_alerts;
