//! Who in the newsroom may do what: one table, as Ghost draws the roles.
//!
//! Contributors write their own drafts; authors also publish their own;
//! editors handle all content, front pages, topics, authors, newsletter
//! sends and the staff below them, and see the dashboard; administrators
//! and owners also members and their personal data, CSV export,
//! complimentary grants, plans, settings, Stripe and SMTP, and the audit
//! log. Only an owner manages administrators and other owners.

use crate::members::Role;

/// Something a staff member may try.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Action {
    /// Create a draft, and edit one's own unpublished drafts.
    WriteOwnDraft,
    /// Publish, schedule or unpublish one's own article.
    PublishOwn,
    /// Edit, publish or delete anyone's article.
    EditAnyArticle,
    FrontPages,
    TopicsAndAuthors,
    SendNewsletters,
    /// Invite, change or remove contributors, authors and editors.
    ManageStaffBelow,
    /// Invite, change or remove administrators and owners.
    ManageAdministrators,
    Dashboard,
    /// Members: list, search, see a member's record, delete.
    Members,
    ExportMembers,
    ComplimentaryAccess,
    Plans,
    /// Newsletters themselves: create, edit, audience.
    ManageNewsletters,
    Settings,
    /// Stripe and SMTP credentials.
    Integrations,
    AuditLog,
    /// Import another platform's export (WordPress, Ghost, Substack).
    Import,
}

impl Action {
    pub const ALL: [Action; 18] = [
        Action::WriteOwnDraft,
        Action::PublishOwn,
        Action::EditAnyArticle,
        Action::FrontPages,
        Action::TopicsAndAuthors,
        Action::SendNewsletters,
        Action::ManageStaffBelow,
        Action::ManageAdministrators,
        Action::Dashboard,
        Action::Members,
        Action::ExportMembers,
        Action::ComplimentaryAccess,
        Action::Plans,
        Action::ManageNewsletters,
        Action::Settings,
        Action::Integrations,
        Action::AuditLog,
        Action::Import,
    ];
}

/// How far up the newsroom a role reaches.
fn rank(role: Role) -> u8 {
    match role {
        Role::Contributor => 1,
        Role::Author => 2,
        Role::Editor => 3,
        Role::Administrator => 4,
        Role::Owner => 5,
    }
}

/// Whether `role` may do `action`.
pub fn allowed(role: Role, action: Action) -> bool {
    use Action::*;
    let needed = match action {
        WriteOwnDraft => Role::Contributor,
        PublishOwn => Role::Author,
        EditAnyArticle | FrontPages | TopicsAndAuthors | SendNewsletters | ManageStaffBelow
        | Dashboard => Role::Editor,
        Members | ExportMembers | ComplimentaryAccess | Plans | ManageNewsletters | Settings
        | Integrations | AuditLog | Import => Role::Administrator,
        ManageAdministrators => Role::Owner,
    };
    rank(role) >= rank(needed)
}

/// Whether `actor` may give or take away `target`'s role (or the staff
/// account holding it): editors manage those below editor, administrators
/// those below administrator, owners everyone.
pub fn may_manage(actor: Role, target: Role) -> bool {
    match actor {
        Role::Owner => true,
        Role::Administrator => rank(target) < rank(Role::Administrator),
        Role::Editor => rank(target) < rank(Role::Editor),
        Role::Author | Role::Contributor => false,
    }
}

/// Whether `role` may open and save an article: contributors their own
/// drafts (not once published or scheduled), authors their own, editors
/// and up any.
pub fn may_edit_article(role: Role, own: bool, live: bool) -> bool {
    match role {
        Role::Contributor => own && !live,
        Role::Author => own,
        Role::Editor | Role::Administrator | Role::Owner => true,
    }
}

/// Whether `role` may publish, schedule or unpublish an article.
pub fn may_publish_article(role: Role, own: bool) -> bool {
    match role {
        Role::Contributor => false,
        Role::Author => own,
        Role::Editor | Role::Administrator | Role::Owner => true,
    }
}

/// A CSV cell that a spreadsheet would run as a formula (`=`, `+`, `-`,
/// `@`, and tab or carriage return first) is prefixed with `'`.
pub fn csv_cell(value: &str) -> String {
    let neutral = match value.chars().next() {
        Some('=' | '+' | '-' | '@' | '\t' | '\r') => format!("'{value}"),
        _ => value.to_string(),
    };
    if neutral.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", neutral.replace('"', "\"\""))
    } else {
        neutral
    }
}

/// Reads CSV text (RFC 4180: quoted fields, doubled quotes, commas and
/// line breaks inside quotes, CRLF or LF) into rows of fields.
pub fn parse_csv(text: &str) -> Vec<Vec<String>> {
    let mut rows = Vec::new();
    let mut row = Vec::new();
    let mut field = String::new();
    let mut quoted = false;
    let mut chars = text.trim_start_matches('\u{feff}').chars().peekable();
    while let Some(c) = chars.next() {
        match (quoted, c) {
            (true, '"') if chars.peek() == Some(&'"') => {
                field.push('"');
                chars.next();
            }
            (true, '"') => quoted = false,
            (true, c) => field.push(c),
            (false, '"') if field.is_empty() => quoted = true,
            (false, ',') => row.push(std::mem::take(&mut field)),
            (false, '\r') => {}
            (false, '\n') => {
                row.push(std::mem::take(&mut field));
                if !(row.len() == 1 && row[0].is_empty()) {
                    rows.push(std::mem::take(&mut row));
                } else {
                    row.clear();
                }
            }
            (false, c) => field.push(c),
        }
    }
    if !field.is_empty() || !row.is_empty() {
        row.push(field);
        rows.push(row);
    }
    rows
}

#[cfg(test)]
mod tests {
    use super::*;
    use Action::*;

    /// The role table, written out cell by cell: each role tries each
    /// action. C = contributor, A = author, E = editor, D = administrator,
    /// O = owner.
    #[test]
    fn the_role_table() {
        let table: &[(Action, [bool; 5])] = &[
            //                     C      A      E      D      O
            (WriteOwnDraft, [true, true, true, true, true]),
            (PublishOwn, [false, true, true, true, true]),
            (EditAnyArticle, [false, false, true, true, true]),
            (FrontPages, [false, false, true, true, true]),
            (TopicsAndAuthors, [false, false, true, true, true]),
            (SendNewsletters, [false, false, true, true, true]),
            (ManageStaffBelow, [false, false, true, true, true]),
            (ManageAdministrators, [false, false, false, false, true]),
            (Dashboard, [false, false, true, true, true]),
            (Members, [false, false, false, true, true]),
            (ExportMembers, [false, false, false, true, true]),
            (ComplimentaryAccess, [false, false, false, true, true]),
            (Plans, [false, false, false, true, true]),
            (ManageNewsletters, [false, false, false, true, true]),
            (Settings, [false, false, false, true, true]),
            (Integrations, [false, false, false, true, true]),
            (AuditLog, [false, false, false, true, true]),
            (Import, [false, false, false, true, true]),
        ];
        assert_eq!(table.len(), Action::ALL.len(), "every action has a row");
        let roles = [
            Role::Contributor,
            Role::Author,
            Role::Editor,
            Role::Administrator,
            Role::Owner,
        ];
        let mut cells = 0;
        for (action, row) in table {
            for (role, want) in roles.iter().zip(row) {
                assert_eq!(allowed(*role, *action), *want, "{role:?} {action:?}");
                cells += 1;
            }
        }
        assert_eq!(cells, Action::ALL.len() * Role::ALL.len());
    }

    #[test]
    fn who_manages_whom() {
        use Role::*;
        let roles = [Contributor, Author, Editor, Administrator, Owner];
        let table: &[(Role, [bool; 5])] = &[
            (Contributor, [false, false, false, false, false]),
            (Author, [false, false, false, false, false]),
            (Editor, [true, true, false, false, false]),
            (Administrator, [true, true, true, false, false]),
            (Owner, [true, true, true, true, true]),
        ];
        for (actor, row) in table {
            for (target, want) in roles.iter().zip(row) {
                assert_eq!(
                    may_manage(*actor, *target),
                    *want,
                    "{actor:?} manages {target:?}"
                );
            }
        }
    }

    #[test]
    fn articles_by_role_and_ownership() {
        use Role::*;
        // (role, own, live) → (may edit, may publish)
        let table: &[(Role, bool, bool, bool, bool)] = &[
            (Contributor, true, false, true, false),
            (Contributor, true, true, false, false),
            (Contributor, false, false, false, false),
            (Contributor, false, true, false, false),
            (Author, true, false, true, true),
            (Author, true, true, true, true),
            (Author, false, false, false, false),
            (Author, false, true, false, false),
            (Editor, true, false, true, true),
            (Editor, false, true, true, true),
            (Administrator, false, true, true, true),
            (Owner, false, false, true, true),
        ];
        for (role, own, live, edit, publish) in table {
            assert_eq!(
                may_edit_article(*role, *own, *live),
                *edit,
                "{role:?} own={own} live={live} edit"
            );
            assert_eq!(
                may_publish_article(*role, *own),
                *publish,
                "{role:?} own={own} publish"
            );
        }
    }

    #[test]
    fn csv_is_read_with_quotes_and_line_breaks() {
        let text = "\u{feff}email,newsletters\r\na@example.org,morning tideline\r\n\"b,c@example.org\",\"say \"\"hi\"\"\nthere\"\n\nlast@example.org,";
        assert_eq!(
            parse_csv(text),
            vec![
                vec!["email".to_string(), "newsletters".to_string()],
                vec!["a@example.org".into(), "morning tideline".into()],
                vec!["b,c@example.org".into(), "say \"hi\"\nthere".into()],
                vec!["last@example.org".into(), "".into()],
            ]
        );
        assert!(parse_csv("").is_empty());
        assert_eq!(parse_csv("x"), vec![vec!["x".to_string()]]);
    }

    #[test]
    fn csv_cells_never_run_as_formulas() {
        assert_eq!(csv_cell("=HYPERLINK(\"x\")"), "\"'=HYPERLINK(\"\"x\"\")\"");
        assert_eq!(csv_cell("+1"), "'+1");
        assert_eq!(csv_cell("-2"), "'-2");
        assert_eq!(csv_cell("@SUM(A1)"), "'@SUM(A1)");
        assert_eq!(csv_cell("\tx"), "'\tx");
        assert_eq!(csv_cell("reader@example.org"), "reader@example.org");
        assert_eq!(csv_cell("a,b"), "\"a,b\"");
        assert_eq!(csv_cell(""), "");
    }
}
