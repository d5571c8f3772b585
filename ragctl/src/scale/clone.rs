//! What a clone of the template replica looks like: its networks and
//! aliases, and the create body built from the template's inspect document
//! (renumbered, hostname and fixed host ports freed).

use std::collections::BTreeMap;

use serde_json::{Value, json};

use super::NewReplica;
use crate::docker::{ContainerInfo, labels};

/// Networks of the template with their aliases, minus what belongs to the
/// template alone (its short id, added by the engine).
pub(super) fn template_networks(t: &Value, c: &ContainerInfo) -> BTreeMap<String, Vec<String>> {
    let mut out = BTreeMap::new();
    let mode = t
        .pointer("/HostConfig/NetworkMode")
        .and_then(Value::as_str)
        .unwrap_or("");
    if mode == "host" || mode == "none" || mode.starts_with("container:") {
        return out;
    }
    if let Some(nets) = t
        .pointer("/NetworkSettings/Networks")
        .and_then(Value::as_object)
    {
        for (name, ep) in nets {
            let aliases: Vec<String> = ep
                .get("Aliases")
                .and_then(Value::as_array)
                .map(|a| {
                    a.iter()
                        .filter_map(Value::as_str)
                        .filter(|a| !c.id.starts_with(a) || a.len() < 12)
                        .map(str::to_string)
                        .collect()
                })
                .unwrap_or_default();
            out.insert(name.clone(), aliases);
        }
    }
    out
}

/// Whether the template publishes a port on a fixed host port.
pub(super) fn has_fixed_host_port(t: &Value) -> bool {
    t.pointer("/HostConfig/PortBindings")
        .and_then(Value::as_object)
        .is_some_and(|m| {
            m.values()
                .flat_map(|v| v.as_array().into_iter().flatten())
                .any(|b| {
                    b.get("HostPort")
                        .and_then(Value::as_str)
                        .is_some_and(|p| !p.is_empty() && p != "0")
                })
        })
}

/// The create body for a clone of the template `t` (an inspect document).
pub fn clone_body(t: &Value, new: &NewReplica, primary: Option<&str>) -> Value {
    let mut cfg = t.get("Config").cloned().unwrap_or_else(|| json!({}));
    let id = t.get("Id").and_then(Value::as_str).unwrap_or("");
    if let Some(obj) = cfg.as_object_mut() {
        // The engine sets the hostname to the short id unless one was given.
        if obj
            .get("Hostname")
            .and_then(Value::as_str)
            .is_some_and(|h| h.len() >= 12 && id.starts_with(h))
        {
            obj.remove("Hostname");
        }
        let lbls = obj.entry("Labels").or_insert_with(|| json!({}));
        if let Some(l) = lbls.as_object_mut() {
            l.insert(labels::NUMBER.into(), json!(new.number.to_string()));
            l.insert(labels::ONEOFF.into(), json!("False"));
        }
        obj.insert("Image".into(), json!(new.image));
    }
    let mut host = t.get("HostConfig").cloned().unwrap_or_else(|| json!({}));
    if let Some(pb) = host.get_mut("PortBindings").and_then(Value::as_object_mut) {
        for bindings in pb.values_mut() {
            for b in bindings.as_array_mut().into_iter().flatten() {
                if let Some(o) = b.as_object_mut() {
                    o.insert("HostPort".into(), json!(""));
                }
            }
        }
    }
    if let Some(net) = primary {
        let aliases = new.networks.get(net).cloned().unwrap_or_default();
        let mut ep = json!({});
        if !is_predefined(net) && !aliases.is_empty() {
            ep["Aliases"] = json!(aliases);
        }
        cfg["NetworkingConfig"] = json!({"EndpointsConfig": {net: ep}});
    }
    cfg["HostConfig"] = host;
    cfg
}

/// Docker's own networks, where user aliases are not allowed.
pub(super) fn is_predefined(net: &str) -> bool {
    matches!(net, "bridge" | "host" | "none" | "default")
}

/// The network a container is created on: its network mode when that names
/// one of its networks, else the first.
pub(super) fn primary_network(t: &Value, new: &NewReplica) -> Option<String> {
    let mode = t
        .pointer("/HostConfig/NetworkMode")
        .and_then(Value::as_str)
        .unwrap_or("");
    if new.networks.contains_key(mode) {
        return Some(mode.to_string());
    }
    if mode == "default" && new.networks.contains_key("bridge") {
        return Some("bridge".into());
    }
    new.networks.keys().next().cloned()
}

#[cfg(test)]
mod tests {
    use bollard::models::ContainerCreateBody;

    use super::*;

    #[test]
    fn clone_body_renumbers_and_frees_ports() {
        let t = json!({
            "Id": "0123456789abcdef0123",
            "Config": {"Hostname": "0123456789ab", "Image": "ragd:dev",
                "Labels": {"com.docker.compose.container-number": "1", "com.docker.compose.service": "ragd"}},
            "HostConfig": {"NetworkMode": "shop_default",
                "PortBindings": {"8080/tcp": [{"HostIp": "127.0.0.1", "HostPort": "18080"}]}},
        });
        let new = NewReplica {
            name: "shop-ragd-2".into(),
            number: 2,
            image: "ragd:dev".into(),
            networks: BTreeMap::from([("shop_default".into(), vec!["ragd".into()])]),
        };
        let b = clone_body(&t, &new, Some("shop_default"));
        assert!(b.get("Hostname").is_none());
        assert_eq!(b["Labels"]["com.docker.compose.container-number"], "2");
        assert_eq!(
            b["HostConfig"]["PortBindings"]["8080/tcp"][0]["HostPort"],
            ""
        );
        assert_eq!(
            b["HostConfig"]["PortBindings"]["8080/tcp"][0]["HostIp"],
            "127.0.0.1"
        );
        assert_eq!(
            b["NetworkingConfig"]["EndpointsConfig"]["shop_default"]["Aliases"],
            json!(["ragd"])
        );
        let _: ContainerCreateBody = serde_json::from_value(b).unwrap();
    }
}
