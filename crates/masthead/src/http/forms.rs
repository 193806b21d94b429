//! The account pages are forms: one template (`form.html`) renders a title,
//! a few paragraphs, an error or notice, and any number of forms described
//! here. Keeps every page's markup (labels, errors, autocomplete) uniform
//! and accessible.

use crate::app::AppState;
use crate::site::view;
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use serde::Serialize;

/// A form whose only field is the session-bound token (log out, export,
/// billing actions…).
#[derive(Debug, Default, serde::Deserialize)]
pub struct CsrfForm {
    #[serde(default)]
    pub csrf: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct Field {
    pub name: String,
    pub label: String,
    pub kind: &'static str,
    pub autocomplete: &'static str,
    pub value: String,
    pub required: bool,
    pub hint: Option<String>,
    /// For checkboxes.
    pub checked: bool,
}

impl Field {
    pub fn email(value: &str) -> Field {
        Field {
            name: "email".into(),
            label: "Email address".into(),
            kind: "email",
            autocomplete: "email",
            value: value.to_string(),
            required: true,
            hint: None,
            checked: false,
        }
    }

    pub fn password(label: &str, autocomplete: &'static str, required: bool) -> Field {
        Field {
            name: "password".into(),
            label: label.to_string(),
            kind: "password",
            autocomplete,
            value: String::new(),
            required,
            hint: None,
            checked: false,
        }
    }

    /// A one-line text input.
    pub fn text(name: &str, label: &str, autocomplete: &'static str) -> Field {
        Field {
            name: name.to_string(),
            label: label.to_string(),
            kind: "text",
            autocomplete,
            value: String::new(),
            required: true,
            hint: None,
            checked: false,
        }
    }

    /// A checkbox, unchecked unless `checked`.
    pub fn checkbox(name: &str, label: &str, checked: bool) -> Field {
        Field {
            name: name.to_string(),
            label: label.to_string(),
            kind: "checkbox",
            autocomplete: "off",
            value: "on".into(),
            required: false,
            hint: None,
            checked,
        }
    }

    pub fn hint(mut self, hint: &str) -> Field {
        self.hint = Some(hint.to_string());
        self
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct Form {
    pub action: String,
    pub submit: String,
    pub fields: Vec<Field>,
    pub hidden: Vec<(&'static str, String)>,
    /// Rendered as a quieter button (a second way to do the same thing).
    pub secondary: bool,
}

impl Form {
    pub fn new(action: &str, submit: &str) -> Form {
        Form {
            action: action.to_string(),
            submit: submit.to_string(),
            fields: Vec::new(),
            hidden: Vec::new(),
            secondary: false,
        }
    }

    pub fn field(mut self, f: Field) -> Form {
        self.fields.push(f);
        self
    }

    pub fn hidden(mut self, name: &'static str, value: &str) -> Form {
        self.hidden.push((name, value.to_string()));
        self
    }

    pub fn secondary(mut self) -> Form {
        self.secondary = true;
        self
    }
}

#[derive(Debug, Clone, Serialize, Default)]
pub struct FormPage {
    pub title: String,
    pub lead: Vec<String>,
    pub error: Option<String>,
    pub notice: Option<String>,
    pub forms: Vec<Form>,
    pub links: Vec<view::Link>,
}

impl FormPage {
    pub fn new(title: &str) -> FormPage {
        FormPage {
            title: title.to_string(),
            ..Default::default()
        }
    }

    pub fn lead(mut self, p: &str) -> FormPage {
        self.lead.push(p.to_string());
        self
    }

    pub fn error(mut self, e: impl Into<String>) -> FormPage {
        self.error = Some(e.into());
        self
    }

    pub fn notice(mut self, n: impl Into<String>) -> FormPage {
        self.notice = Some(n.into());
        self
    }

    pub fn form(mut self, f: Form) -> FormPage {
        self.forms.push(f);
        self
    }

    pub fn link(mut self, url: &str, name: &str) -> FormPage {
        self.links.push(view::Link {
            url: url.to_string(),
            name: name.to_string(),
        });
        self
    }

    /// Renders with `status`. Account pages are never stored by caches.
    pub fn render(self, state: &AppState, status: StatusCode) -> Response {
        let ctx = minijinja::context! {
            site => view::site(state),
            title => self.title,
            noindex => true,
            page => self,
        };
        match state.theme().render("form.html", ctx) {
            Ok(html) => {
                let mut res = (status, html).into_response();
                let h = res.headers_mut();
                h.insert(
                    header::CONTENT_TYPE,
                    HeaderValue::from_static("text/html; charset=utf-8"),
                );
                h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
                res
            }
            Err(e) => crate::http::AppError::from(e).into_response(),
        }
    }
}
