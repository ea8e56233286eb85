// Schema validation: each object is built as the kubernetes-models class of its apiVersion and
// kind and validated against the Kubernetes OpenAPI schema (or the CRD's). A kind with no model
// here is a failure, never a skip: add its module below when the manifests start using it.
// The schemas allow unknown fields (as the API server's non-strict mode does); the checks in
// checks.mjs catch the misspellings that matter (a missing probe, port or limit).
import * as core from "kubernetes-models/v1";
import * as apps from "kubernetes-models/apps/v1";
import * as policy from "kubernetes-models/policy/v1";
import * as networking from "kubernetes-models/networking.k8s.io/v1";
import * as autoscaling from "kubernetes-models/autoscaling/v2";
import * as batch from "kubernetes-models/batch/v1";
import * as rbac from "kubernetes-models/rbac.authorization.k8s.io/v1";
import * as monitoring from "@kubernetes-models/prometheus-operator/monitoring.coreos.com/v1";
import * as keda from "@kubernetes-models/keda/keda.sh/v1alpha1";
import { ref } from "./objects.mjs";

const MODELS = new Map();
for (const mod of [core, apps, policy, networking, autoscaling, batch, rbac, monitoring, keda]) {
  for (const cls of Object.values(mod)) {
    if (typeof cls === "function" && cls.apiVersion && cls.kind) MODELS.set(`${cls.apiVersion} ${cls.kind}`, cls);
  }
}

export function schema({ objects }) {
  const fail = [];
  for (const obj of objects) {
    const Model = MODELS.get(`${obj.apiVersion} ${obj.kind}`);
    if (!Model) {
      fail.push(`${ref(obj)}: no schema for ${obj.apiVersion} ${obj.kind}`);
      continue;
    }
    try {
      new Model(obj).validate();
    } catch (e) {
      fail.push(`${ref(obj)}: ${e.message}`);
    }
  }
  return fail;
}
