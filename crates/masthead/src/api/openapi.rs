//! An OpenAPI 3 description of what the Ghost-compatible APIs implement,
//! served at `/ghost/api/openapi.json`. It is made from the same list of
//! resources the handlers answer, and a test checks it against the route
//! table.

use serde_json::{json, Map, Value};

/// The Content API's resources: (name, has reads by id and slug).
pub const CONTENT_RESOURCES: &[(&str, bool)] = &[
    ("posts", true),
    ("pages", true),
    ("tags", true),
    ("authors", true),
    ("tiers", false),
    ("settings", false),
];

fn param(name: &str, description: &str) -> Value {
    json!({
        "name": name,
        "in": "query",
        "required": name == "key",
        "description": description,
        "schema": {"type": "string"},
    })
}

fn browse_params(resource: &str) -> Vec<Value> {
    let mut p = vec![param(
        "key",
        "The integration's Content API key (26 hex digits).",
    )];
    if matches!(resource, "posts" | "pages" | "tags" | "authors") {
        p.extend([
            param("filter", "NQL over id, uuid, slug, title, tag(s), author(s), primary_tag, primary_author, featured, visibility and the dates (posts, pages); id, slug, name, visibility, count.posts and the dates (tags, authors)."),
            param("limit", "Items per page: 1 to 100, or `all` (capped at 100); default 15."),
            param("page", "The page, from 1."),
            param("order", "`field asc|desc`, comma-separated."),
        ]);
    }
    p.extend([
        param("fields", "Only these fields of each object."),
        param("include", "posts, pages: tags, authors; tags, authors: count.posts; tiers: monthly_price, yearly_price, benefits."),
    ]);
    if matches!(resource, "posts" | "pages") {
        p.push(param("formats", "html (the default) and/or plaintext."));
    }
    p
}

fn answer(resource: &str, description: &str) -> Value {
    json!({
        "description": description,
        "content": {"application/json": {"schema": {
            "type": "object",
            "required": [resource],
            "properties": {
                resource: if resource == "settings" { json!({"type": "object"}) } else { json!({"type": "array", "items": {"type": "object"}}) },
                "meta": {"type": "object"},
            },
        }}},
    })
}

/// The Admin API's resources: (name, the methods on the collection, the
/// methods on one object by id, reads by slug).
pub const ADMIN_RESOURCES: &[(&str, &[&str], &[&str], bool)] = &[
    ("posts", &["get", "post"], &["get", "put", "delete"], true),
    ("tags", &["get", "post"], &["get", "put", "delete"], true),
    ("pages", &["get", "post"], &["get", "put"], true),
];

fn admin_operation(resource: &str, method: &str, by: Option<&str>) -> Value {
    let what = match (method, by) {
        ("get", None) => format!("Browse {resource} (staff: every status, whole bodies)"),
        ("get", Some(b)) => format!("Read one of {resource} by {b}"),
        ("post", _) => format!("Add to {resource} (posts: ?source=html)"),
        ("put", _) => format!("Edit one of {resource} (posts: updated_at required)"),
        _ => format!("Delete one of {resource}"),
    };
    let mut parameters = vec![json!({
        "name": "Authorization", "in": "header", "required": true,
        "description": "Ghost <JWT>: HS256 over the Admin API key's hex-decoded secret, kid = the key's id, aud = /admin/, at most 5 minutes.",
        "schema": {"type": "string"},
    })];
    if let Some(b) = by {
        parameters
            .push(json!({"name": b, "in": "path", "required": true, "schema": {"type": "string"}}));
    }
    let ok = match method {
        "post" => "201",
        "delete" => "204",
        _ => "200",
    };
    let mut responses = json!({"401": errors(), "403": errors(), "404": errors(), "422": errors()});
    if let Some(map) = responses.as_object_mut() {
        map.insert(
            ok.into(),
            if ok == "204" {
                json!({"description": "Deleted"})
            } else {
                answer(resource, "The objects")
            },
        );
        if method == "put" {
            map.insert("409".into(), errors());
        }
    }
    json!({"summary": what, "parameters": parameters, "responses": responses})
}

fn admin_paths(paths: &mut Map<String, Value>) {
    for (resource, collection, object, slugs) in ADMIN_RESOURCES {
        let ops = |methods: &[&str], by: Option<&str>| {
            Value::Object(
                methods
                    .iter()
                    .map(|m| (m.to_string(), admin_operation(resource, m, by)))
                    .collect(),
            )
        };
        paths.insert(
            format!("/ghost/api/admin/{resource}/"),
            ops(collection, None),
        );
        paths.insert(
            format!("/ghost/api/admin/{resource}/{{id}}/"),
            ops(object, Some("id")),
        );
        if *slugs {
            paths.insert(
                format!("/ghost/api/admin/{resource}/slug/{{slug}}/"),
                ops(&["get"], Some("slug")),
            );
        }
    }
    paths.insert(
        "/ghost/api/admin/images/upload/".into(),
        json!({"post": {
            "summary": "Upload an image (multipart: file, purpose, ref) into the media library",
            "parameters": [{"name": "Authorization", "in": "header", "required": true, "schema": {"type": "string"}}],
            "responses": {"201": answer("images", "The image's url and ref"), "401": errors(), "403": errors(), "413": errors(), "415": errors(), "422": errors()},
        }}),
    );
    paths.insert(
        "/ghost/api/admin/site/".into(),
        json!({"get": {
            "summary": "The site's title, description, logo, icon, accent colour, URL and version (no token needed)",
            "responses": {"200": answer("site", "The site")},
        }}),
    );
}

fn errors() -> Value {
    json!({"$ref": "#/components/responses/Error"})
}

/// The document.
pub fn document(base_url: &str) -> Value {
    let mut paths = Map::new();
    for (resource, reads) in CONTENT_RESOURCES {
        paths.insert(
            format!("/ghost/api/content/{resource}/"),
            json!({"get": {
                "summary": format!("Browse {resource}"),
                "parameters": browse_params(resource),
                "responses": {"200": answer(resource, "A page of objects, with meta.pagination"), "400": errors(), "401": errors(), "403": errors(), "404": errors(), "422": errors()},
            }}),
        );
        if *reads {
            for (suffix, name, what) in [
                ("{id}/", "id", "24 hex digits"),
                ("slug/{slug}/", "slug", "the slug"),
            ] {
                paths.insert(
                    format!("/ghost/api/content/{resource}/{suffix}"),
                    json!({"get": {
                        "summary": format!("Read one of {resource} by {name}"),
                        "parameters": [
                            {"name": name, "in": "path", "required": true, "description": what, "schema": {"type": "string"}},
                            param("key", "The integration's Content API key."),
                            param("fields", "Only these fields."),
                            param("include", "As for browse."),
                            param("formats", "As for browse."),
                        ],
                        "responses": {"200": answer(resource, "One object, in a list of one"), "401": errors(), "403": errors(), "404": errors()},
                    }}),
                );
            }
        }
    }
    admin_paths(&mut paths);
    json!({
        "openapi": "3.0.3",
        "info": {
            "title": "Masthead: Ghost-compatible Content and Admin APIs",
            "version": "1.0.0",
            "description": "The parts of Ghost's Content and Admin APIs Masthead implements. The same paths answer under /ghost/api/{v2,v3,v4,canary}/. Every Content API post is decided as for an anonymous reader: a gated post carries access: false and its preview only. The Admin API is staff: it reads whole bodies.",
        },
        "servers": [{"url": base_url}],
        "paths": paths,
        "components": {"responses": {"Error": {
            "description": "Ghost's error shape",
            "content": {"application/json": {"schema": {
                "type": "object",
                "properties": {"errors": {"type": "array", "items": {
                    "type": "object",
                    "properties": {
                        "message": {"type": "string"}, "context": {"type": "string", "nullable": true},
                        "type": {"type": "string"}, "details": {"nullable": true},
                        "property": {"type": "string", "nullable": true}, "help": {"nullable": true},
                        "code": {"nullable": true}, "id": {"type": "string"},
                    },
                }}},
            }}},
        }}},
    })
}
