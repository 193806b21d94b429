-- The newsroom's audit log: who did what to which object, and when. Rows
-- outlive the staff account (staff_email keeps who it was).
CREATE TABLE audit_log (
    id INTEGER PRIMARY KEY,
    staff_id INTEGER REFERENCES staff (id) ON DELETE SET NULL,
    staff_email TEXT NOT NULL,
    action TEXT NOT NULL,
    object_type TEXT NOT NULL,
    object_id TEXT NOT NULL,
    detail TEXT NOT NULL,
    created_at INTEGER NOT NULL
);
CREATE INDEX audit_log_by_time ON audit_log (created_at);
