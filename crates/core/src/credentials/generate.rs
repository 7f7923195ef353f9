//! Generating values: what to add to an owner's Secret (absent keys only), a rotated
//! generation, and the random strings, usernames and Fernet keys themselves (from the OS
//! random generator).

use std::collections::BTreeMap;

use k8s_openapi::ByteString;

use super::{Needed, Shape};

/// Data keys to add to `owner`'s Secret so it holds everything in `needs`: fresh values for
/// absent credentials only. Present keys are never touched, even when unusable (a person may
/// be mid-edit; overwriting would lose a credential a database already uses).
pub fn additions(
    owner: &str,
    needs: &[Needed],
    existing: Option<&BTreeMap<String, ByteString>>,
) -> Result<BTreeMap<String, String>, getrandom::Error> {
    let has = |key: &str| existing.is_some_and(|data| data.contains_key(key));
    let mut add = BTreeMap::new();
    for need in needs {
        match need.shape {
            Shape::Plain | Shape::FernetKey => {
                if !has(need.key) {
                    add.insert(need.key.to_owned(), fresh(need.shape)?);
                }
            }
            Shape::User { fixed_username } => {
                let (user_key, password_key) = (
                    format!("{}.username", need.key),
                    format!("{}.password", need.key),
                );
                if !has(&user_key) {
                    let username = match fixed_username {
                        Some(name) => name.to_owned(),
                        None => generated_username(owner)?,
                    };
                    add.insert(user_key, username);
                }
                if !has(&password_key) {
                    add.insert(password_key, random_string(PASSWORD_LENGTH)?);
                }
            }
        }
    }
    Ok(add)
}

/// The complete data of a new generation of `owner`'s credentials, replacing `previous` (the
/// active generation): fresh passwords and generated usernames; fixed usernames, plain secrets,
/// Fernet keys and keys this version does not know are carried over unchanged.
pub fn rotated(
    owner: &str,
    needs: &[Needed],
    previous: Option<&BTreeMap<String, ByteString>>,
) -> Result<BTreeMap<String, ByteString>, getrandom::Error> {
    let mut data: BTreeMap<String, ByteString> = previous.cloned().unwrap_or_default();
    for need in needs {
        if let Shape::User { fixed_username } = need.shape {
            let username = match fixed_username {
                Some(name) => name.to_owned(),
                None => generated_username(owner)?,
            };
            data.insert(
                format!("{}.username", need.key),
                ByteString(username.into_bytes()),
            );
            data.insert(
                format!("{}.password", need.key),
                ByteString(random_string(PASSWORD_LENGTH)?.into_bytes()),
            );
        }
    }
    // Whatever the previous generation lacked is generated as for a first generation.
    let missing = additions(owner, needs, Some(&data))?;
    data.extend(
        missing
            .into_iter()
            .map(|(k, v)| (k, ByteString(v.into_bytes()))),
    );
    Ok(data)
}

fn fresh(shape: Shape) -> Result<String, getrandom::Error> {
    match shape {
        Shape::FernetKey => fernet_key(),
        _ => random_string(PASSWORD_LENGTH),
    }
}

/// A Fernet key: URL-safe base64 (with padding) of 32 bytes from the OS random generator.
pub fn fernet_key() -> Result<String, getrandom::Error> {
    use base64::Engine as _;
    let mut bytes = [0u8; 32];
    getrandom::fill(&mut bytes)?;
    Ok(base64::engine::general_purpose::URL_SAFE.encode(bytes))
}

/// Length of generated passwords and plain secrets (≈190 bits from a 62-character alphabet).
pub const PASSWORD_LENGTH: usize = 32;
/// MariaDB and RabbitMQ both accept 16 characters; Rockoon uses the same bound.
const MAX_USERNAME: usize = 16;
pub(super) const ALPHABET: &[u8] =
    b"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";

/// A readable, unique username: the owner's OpenStack project name and random characters.
fn generated_username(owner: &str) -> Result<String, getrandom::Error> {
    let prefix: String = crate::services::project_name(owner)
        .chars()
        .take(MAX_USERNAME - 6)
        .collect();
    let suffix = random_from(
        b"abcdefghijklmnopqrstuvwxyz0123456789",
        MAX_USERNAME - prefix.len(),
    )?;
    Ok(format!("{prefix}{suffix}"))
}

/// `length` characters drawn uniformly from the alphanumeric alphabet.
pub fn random_string(length: usize) -> Result<String, getrandom::Error> {
    random_from(ALPHABET, length)
}

fn random_from(alphabet: &[u8], length: usize) -> Result<String, getrandom::Error> {
    // Rejection sampling keeps the distribution uniform: bytes at or above the largest
    // multiple of the alphabet size are thrown away.
    let limit = 256 - (256 % alphabet.len());
    let mut out = String::with_capacity(length);
    let mut buffer = [0u8; 64];
    while out.len() < length {
        getrandom::fill(&mut buffer)?;
        for &byte in &buffer {
            if usize::from(byte) < limit && out.len() < length {
                out.push(char::from(alphabet[usize::from(byte) % alphabet.len()]));
            }
        }
    }
    Ok(out)
}
