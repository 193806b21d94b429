//! The theme: MiniJinja templates and static files built into the binary,
//! each overridable by a file of the same name in the operator's theme
//! directory (`theme_dir/templates/…`, `theme_dir/static/…`).

use minijinja::{AutoEscape, Environment};
use sha2::{Digest, Sha256};
use std::path::{Path, PathBuf};

macro_rules! builtin {
    ($($name:literal),+ $(,)?) => {
        &[$(($name, include_str!(concat!("../theme/templates/", $name)))),+]
    };
}

const TEMPLATES: &[(&str, &str)] = builtin!(
    "base.html",
    "home.html",
    "article.html",
    "list.html",
    "search.html",
    "page.html",
    "topics.html",
    "error.html",
    "card.html",
    "pager.html",
    "offer.html",
    "form.html",
    "account.html",
    "newsletters.html",
    "newsletter_send.html",
    "email/newsletter.html",
    "email/newsletter.txt",
    "email/account/login_link.txt",
    "email/account/login_no_account.txt",
    "email/account/reset_link.txt",
    "email/account/reset_no_account.txt",
    "email/account/email_change_confirm.txt",
    "email/account/email_change_warning.txt",
    "email/account/email_changed.txt",
    "email/account/signup_confirm.txt",
    "email/account/signup_taken.txt",
    "email/account/newsletters_confirm.txt",
    "email/account/staff_invite.txt",
    "email/account/staff_new_link.txt",
    "email/account/staff_reset.txt",
    "email/account/subscriber_welcome.txt",
    "admin/base.html",
    "admin/dashboard.html",
    "admin/members.html",
    "admin/member.html",
    "admin/plans.html",
    "admin/audit.html",
    "admin/import.html",
    "admin/import_run.html",
    "admin/newsletters.html",
    "admin/send.html",
    "admin/articles.html",
    "admin/article.html",
    "admin/preview.html",
    "admin/settings.html",
    "admin/staff.html",
    "admin/front.html",
    "admin/topics.html",
    "admin/pages.html",
    "admin/media.html",
    "admin/dashboard_article.html",
    "admin/revision.html",
    "admin/account.html",
    "admin/integrations.html",
    "preview.html",
);

const STYLE: &str = include_str!("../theme/static/style.css");

pub struct Theme {
    env: Environment<'static>,
    pub css: Vec<u8>,
    /// A short hash of the stylesheet, for cache-busting its URL.
    pub css_version: String,
}

impl Theme {
    pub fn load(dir: Option<&Path>) -> anyhow::Result<Theme> {
        let mut env = Environment::new();
        env.set_auto_escape_callback(|name| {
            if name.ends_with(".html") || name.ends_with(".xml") {
                AutoEscape::Html
            } else {
                AutoEscape::None
            }
        });
        env.set_undefined_behavior(minijinja::UndefinedBehavior::Chainable);
        // MiniJinja's HTML escaping also escapes `/`, which is valid but
        // makes every URL unreadable; escape only what HTML needs.
        env.set_formatter(|out, state, value| {
            match (state.auto_escape(), value.is_safe(), value.as_str()) {
                (AutoEscape::Html, false, Some(s)) => out
                    .write_str(&escape_html(s))
                    .map_err(minijinja::Error::from),
                _ => minijinja::escape_formatter(out, state, value),
            }
        });
        let override_dir: Option<PathBuf> = dir.map(|d| d.join("templates"));
        for (name, source) in TEMPLATES {
            let custom = override_dir
                .as_ref()
                .map(|d| d.join(name))
                .filter(|p| p.is_file());
            match custom {
                Some(path) => {
                    let text = std::fs::read_to_string(&path)?;
                    env.add_template_owned(name.to_string(), text)
                        .map_err(|e| anyhow::anyhow!("theme template {}: {e}", path.display()))?;
                }
                None => env.add_template(name, source)?,
            }
        }
        let css = match dir
            .map(|d| d.join("static/style.css"))
            .filter(|p| p.is_file())
        {
            Some(p) => std::fs::read(p)?,
            None => STYLE.as_bytes().to_vec(),
        };
        let css_version = hex::encode(&Sha256::digest(&css)[..6]);
        Ok(Theme {
            env,
            css,
            css_version,
        })
    }

    pub fn render<S: serde::Serialize>(
        &self,
        name: &str,
        ctx: S,
    ) -> Result<String, minijinja::Error> {
        self.env.get_template(name)?.render(ctx)
    }
}

/// Escapes text for HTML content and quoted attribute values.
pub fn escape_html(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 8);
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_theme_directory_overrides_one_template() {
        let dir = std::env::temp_dir().join(format!("masthead-theme-{}", std::process::id()));
        std::fs::create_dir_all(dir.join("templates")).unwrap_or_default();
        std::fs::write(dir.join("templates/error.html"), "custom {{ message }}")
            .unwrap_or_default();
        let theme = Theme::load(Some(&dir)).unwrap_or_else(|e| panic!("{e}"));
        let out = theme
            .render("error.html", minijinja::context! { message => "<b>" })
            .unwrap_or_default();
        assert_eq!(out, "custom &lt;b&gt;", "overrides are autoescaped too");
        let _ = std::fs::remove_dir_all(dir);
    }
}
