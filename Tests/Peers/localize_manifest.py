#!/usr/bin/env python3
"""Makes a manifest from Config/deploy/kubernetes runnable by `podman play kube` on a machine
with no cluster and no registry, replacing only what cannot exist there, and writes it to
stdout. The manifests themselves are never edited; PodTests names every replacement:

  --image FROM=TO     a registry image name -> a locally built image
  --env NAME=VALUE    an environment variable's value (secretKeyRef, and fieldRefs podman
                      refuses: metadata.namespace, spec.nodeName) -> a literal
  --host-path FROM=TO a hostPath on a node -> a directory the test made
  --command CONTAINER=JSON  a container's command (the app played by a test program)
  --args CONTAINER=JSON     a container's args

Always: containerPort mappings and the probes that name them go (the pod shares the host's
network here, and podman would run httpGet probes with curl inside an image that has none; the
test asks /healthz and /readyz itself), and a DaemonSet becomes the Pod of its template (podman
has no DaemonSet controller; one node, one pod).
"""
import argparse
import json
import sys

import yaml


def pairs(values):
    return dict(value.split("=", 1) for value in values or [])


def localize_pod_spec(spec, options):
    for container in spec.get("containers", []) + spec.get("initContainers", []):
        container["image"] = options.image.get(container["image"], container["image"])
        container.pop("ports", None)
        for probe in ("livenessProbe", "readinessProbe", "startupProbe"):
            container.pop(probe, None)
        for variable in container.get("env", []):
            if variable["name"] in options.env:
                variable.pop("valueFrom", None)
                variable["value"] = options.env[variable["name"]]
        if container["name"] in options.command:
            container["command"] = json.loads(options.command[container["name"]])
        if container["name"] in options.args:
            container["args"] = json.loads(options.args[container["name"]])
    for volume in spec.get("volumes", []):
        host_path = volume.get("hostPath")
        if host_path and host_path["path"] in options.host_path:
            host_path["path"] = options.host_path[host_path["path"]]


def localize(document, options):
    if document is None:
        return None
    if document.get("kind") == "DaemonSet":
        template = document["spec"]["template"]
        document = {
            "apiVersion": "v1",
            "kind": "Pod",
            "metadata": {"name": document["metadata"]["name"], "labels": template["metadata"].get("labels", {})},
            "spec": template["spec"],
        }
    if document.get("kind") == "Pod":
        localize_pod_spec(document["spec"], options)
    elif document.get("kind") == "Deployment":
        document["spec"]["replicas"] = 1
        localize_pod_spec(document["spec"]["template"]["spec"], options)
    return document


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("manifest")
    for flag in ("--image", "--env", "--host-path", "--command", "--args"):
        parser.add_argument(flag, action="append")
    options = parser.parse_args()
    for name in ("image", "env", "host_path", "command", "args"):
        setattr(options, name, pairs(getattr(options, name)))
    with open(options.manifest) as manifest:
        documents = [localize(document, options) for document in yaml.safe_load_all(manifest)]
    yaml.safe_dump_all([d for d in documents if d is not None], sys.stdout, sort_keys=False)


if __name__ == "__main__":
    main()
