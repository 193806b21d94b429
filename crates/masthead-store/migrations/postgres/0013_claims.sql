-- The sign-up session that claimed an address nobody has proved yet. Only
-- that session's password survives the first proof of the address (an
-- emailed link followed, a confirmed import); any other proof ends every
-- session and drops the password and the sign-up's newsletter choices.
-- Cleared once the address is verified.
ALTER TABLE members ADD COLUMN claim_session_id BIGINT REFERENCES sessions (id) ON DELETE SET NULL;
