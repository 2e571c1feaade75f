//! `container runlabel LABEL IMAGE [ARG...]`: the command an image keeps
//! in a label (`INSTALL`, `RUN`, ...), made ready to run the way podman
//! makes it: a leading `podman` or `docker` becomes this engine, `IMAGE`
//! and `NAME` are filled in, `$OPT1`..`$OPT3` and `$PWD` expanded.

use std::collections::BTreeMap;
use std::path::Path;

use crate::error::{ContainerError, Result};

/// What `runlabel` was given besides the label's own text.
#[derive(Debug, Clone, Default)]
pub struct RunlabelRequest {
    /// The image as typed (used for the default name when the image is
    /// only known by its ID).
    pub image: String,
    /// The image's name (its newest name, else its ID).
    pub image_name: String,
    /// `--name`: the container name the command is given.
    pub name: Option<String>,
    /// `--opt1`, `--opt2`, `--opt3`.
    pub opts: [Option<String>; 3],
    /// Arguments after IMAGE, appended to the label's command.
    pub args: Vec<String>,
}

/// The value of label `label` in `labels`, its name matched without
/// regard to case (`install` finds `INSTALL`), with podman's error when
/// there is none.
pub fn label_value<'a>(
    labels: &'a BTreeMap<String, String>,
    label: &str,
    image: &str,
) -> Result<&'a str> {
    labels
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case(label))
        .map(|(_, v)| v.as_str())
        .filter(|v| !v.trim().is_empty())
        .ok_or_else(|| {
            ContainerError::Invalid(format!(
                "cannot find the value of label: {label} in image: {image}"
            ))
        })
}

/// The container name the command gets: `--name`, else the last path
/// part of the image's name without its tag.
fn container_name(r: &RunlabelRequest) -> String {
    if let Some(n) = &r.name {
        return n.clone();
    }
    // An image known only by its ID has no name to take: use what was typed.
    let source = if r.image_name.contains('/') || r.image_name.contains(':') {
        &r.image_name
    } else {
        &r.image
    };
    let last = source.rsplit('/').next().unwrap_or(source);
    last.split(':').next().unwrap_or(last).to_string()
}

/// The command of label text `value` for request `r`, with `engine` the
/// path of this program (what `podman` and `docker` at its start become).
pub fn command(value: &str, r: &RunlabelRequest, engine: &Path) -> Result<Vec<String>> {
    let mut text = value.to_string();
    if !r.args.is_empty() {
        text = format!("{text} {}", r.args.join(" "));
    }
    let words = split(&text)?;
    let name = container_name(r);
    let mut filled = Vec::with_capacity(words.len());
    for (i, word) in words.iter().enumerate() {
        filled.push(if i == 0 {
            program(word, engine)
        } else {
            fill_image_and_name(word, &r.image_name, &name)
        });
    }
    // A word with a variable in it is expanded and split again: an option
    // not given leaves no empty word behind, and one given as several
    // flags (--opt1='-e A=1 -e B=2') becomes several words. Other words
    // keep their quoting.
    let mut out = Vec::with_capacity(filled.len());
    for word in filled {
        if word.contains('$') {
            out.extend(shlex::split(&expand_options(&word, &r.opts)).unwrap_or_default());
        } else {
            out.push(word);
        }
    }
    if out.is_empty() {
        return Err(ContainerError::Invalid(
            "the label's command is empty".into(),
        ));
    }
    Ok(out)
}

fn split(text: &str) -> Result<Vec<String>> {
    let words = shlex::split(text).ok_or_else(|| {
        ContainerError::Invalid(format!(
            "the label's command {text:?} has an unbalanced quote or a trailing backslash"
        ))
    })?;
    if words.is_empty() {
        return Err(ContainerError::Invalid(
            "the label's command is empty".into(),
        ));
    }
    Ok(words)
}

/// A label written for podman or docker runs this engine.
fn program(word: &str, engine: &Path) -> String {
    let base = word.rsplit('/').next().unwrap_or(word);
    if base == "podman" || base == "docker" {
        engine.display().to_string()
    } else {
        word.to_string()
    }
}

fn fill_image_and_name(word: &str, image: &str, name: &str) -> String {
    match word {
        "IMAGE=IMAGE" => format!("IMAGE={image}"),
        "NAME=NAME" => format!("NAME={name}"),
        _ => word
            .replace("${NAME}", name)
            .replace("$NAME", name)
            .replace("${IMAGE}", image)
            .replace("$IMAGE", image),
    }
}

/// Expands `$VAR` and `${VAR}`: OPT1..OPT3 from `opts`, PWD the current
/// directory, any other variable to nothing (as podman does).
fn expand_options(text: &str, opts: &[Option<String>; 3]) -> String {
    let value = |var: &str| -> String {
        match var {
            "OPT1" => opts[0].clone().unwrap_or_default(),
            "OPT2" => opts[1].clone().unwrap_or_default(),
            "OPT3" => opts[2].clone().unwrap_or_default(),
            "PWD" => std::env::current_dir()
                .map(|d| d.display().to_string())
                .unwrap_or_default(),
            _ => String::new(),
        }
    };
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(at) = rest.find('$') {
        out.push_str(&rest[..at]);
        let after = &rest[at + 1..];
        let (var, len) = if let Some(braced) = after.strip_prefix('{') {
            match braced.find('}') {
                Some(end) => (&braced[..end], end + 2),
                None => ("", 0),
            }
        } else {
            let end = after
                .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
                .unwrap_or(after.len());
            (&after[..end], end)
        };
        if len == 0 {
            out.push('$');
            rest = after;
            continue;
        }
        out.push_str(&value(var));
        rest = &after[len..];
    }
    out.push_str(rest);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request(name: Option<&str>, opts: [Option<&str>; 3]) -> RunlabelRequest {
        RunlabelRequest {
            image: "runlabel_image".into(),
            image_name: "localhost/runlabel_image:latest".into(),
            name: name.map(String::from),
            opts: opts.map(|o| o.map(String::from)),
            args: vec![],
        }
    }

    const LABEL: &str = "/usr/bin/podman run -t --rm ${OPT1} -e NAME=${NAME} -e IMAGE=${IMAGE} \
                         -e CONFDIR=/etc/${NAME} ${IMAGE} ${OPT2} /bin/install.sh ${OPT3}";

    #[test]
    fn fills_in_the_engine_image_name_and_options() {
        let engine = Path::new("/opt/hoist");
        let got = command(
            LABEL,
            &request(Some("test1"), [Some("a"), Some("b"), Some("c")]),
            engine,
        )
        .unwrap()
        .join(" ");
        assert_eq!(
            got,
            "/opt/hoist run -t --rm a -e NAME=test1 -e IMAGE=localhost/runlabel_image:latest \
             -e CONFDIR=/etc/test1 localhost/runlabel_image:latest b /bin/install.sh c"
        );
        // Without --name the image's own name; options not given vanish.
        let got = command(LABEL, &request(None, [None, None, Some("c")]), engine)
            .unwrap()
            .join(" ");
        assert_eq!(
            got,
            "/opt/hoist run -t --rm -e NAME=runlabel_image -e IMAGE=localhost/runlabel_image:latest \
             -e CONFDIR=/etc/runlabel_image localhost/runlabel_image:latest /bin/install.sh c"
        );
    }

    #[test]
    fn other_programs_stay_and_unknown_variables_expand_to_nothing() {
        let r = request(None, [None, None, None]);
        let got = command("/bin/echo $HOME x${UNSET}y $ 'a b'", &r, Path::new("/h")).unwrap();
        assert_eq!(got, vec!["/bin/echo", "xy", "$", "a b"]);
        let several = RunlabelRequest {
            opts: [Some("-e A=1 -e B=2".into()), None, None],
            ..r.clone()
        };
        let got = command("podman run $OPT1 img", &several, Path::new("/h")).unwrap();
        assert_eq!(got, vec!["/h", "run", "-e", "A=1", "-e", "B=2", "img"]);
        assert!(command("echo 'open", &r, Path::new("/h")).is_err());
    }

    #[test]
    fn labels_match_without_case_and_a_missing_one_says_so() {
        let labels = BTreeMap::from([("INSTALL".to_string(), "true".to_string())]);
        assert_eq!(label_value(&labels, "install", "img").unwrap(), "true");
        let err = label_value(&labels, "run", "img").unwrap_err().to_string();
        assert_eq!(err, "cannot find the value of label: run in image: img");
    }
}
