# The 15-rule approval matrix of policies/matrix.gate, in Rego.
#
# One `hits` rule per gatehouse rule: each contributes its outcome level
# (0 auto, 1 queue, 2 explicit, 3 dual, 4 block), its reason code and the
# evidence it requires. `decision` is what the harness reads: the highest
# level (block when required evidence is missing), and the reason codes,
# with EVIDENCE_MISSING and NO_RULE_MATCHED computed as gatehouse does.
#
# An absent attribute makes an expression undefined, so the rule body fails:
# the same as gatehouse's "every test on an absent attribute is false";
# `not` turns undefined into true, as gatehouse's `not` does.
package gate

import rego.v1

hits contains {"level": 0, "reason": "READ_INTERNAL", "evidence": []} if {
	input.action.type in {"read", "summarize"}
	input.action.scope == "internal"
}

hits contains {"level": 1, "reason": "DRAFT", "evidence": []} if {
	input.action.type == "draft"
}

hits contains {"level": 2, "reason": "EXTERNAL_SEND", "evidence": []} if {
	input.action.type == "send"
	input.action.scope == "external"
}

hits contains {"level": 1, "reason": "SMALL_REFUND", "evidence": []} if {
	input.action.type == "refund"
	input.action.amount <= 1000
}

hits contains {"level": 2, "reason": "REFUND_ABOVE_1000", "evidence": ["impact_estimate"]} if {
	input.action.type == "refund"
	input.action.amount > 1000
}

hits contains {"level": 3, "reason": "LARGE_AMOUNT", "evidence": []} if {
	input.action.amount > 10000
}

hits contains {"level": 4, "reason": "AMOUNT_OVER_LIMIT", "evidence": []} if {
	input.action.amount > 100000
}

hits contains {"level": 4, "reason": "AMOUNT_MISSING", "evidence": []} if {
	input.action.type in {"refund", "pay"}
	not input.action.amount
}

hits contains {"level": 2, "reason": "PAYMENT", "evidence": []} if {
	input.action.type == "pay"
}

hits contains {"level": 2, "reason": "PRODUCTION", "evidence": ["rollback_plan"]} if {
	startswith(input.action.target, "prod:")
}

hits contains {"level": 4, "reason": "OUTSIDE_CHANGE_WINDOW", "evidence": []} if {
	startswith(input.action.target, "prod:")
	not input.change_window.open
}

hits contains {"level": 3, "reason": "IAM_CHANGE", "evidence": []} if {
	startswith(input.action.target, "iam:")
}

hits contains {"level": 2, "reason": "REGULATED_DATA", "evidence": []} if {
	some c in input.action.data_classes
	c in {"pii", "phi", "financial"}
	input.action.type != "draft"
}

hits contains {"level": 1, "reason": "LOW_CONFIDENCE", "evidence": []} if {
	input.model.confidence < 70
}

hits contains {"level": 2, "reason": "DELETE", "evidence": ["rollback_plan"]} if {
	input.action.type == "delete"
}

# gatehouse's evidence presence rule, for the strings the corpus has.
present(field) if trim_space(input.evidence[field]) != ""

missing contains field if {
	some h in hits
	some field in h.evidence
	not present(field)
}

reasons := {"NO_RULE_MATCHED"} if {
	count(hits) == 0
} else := {h.reason | some h in hits} | {"EVIDENCE_MISSING" | count(missing) > 0}

level := 4 if {
	count(missing) > 0
} else := max({h.level | some h in hits} | {0})

decision := {"level": level, "reasons": reasons}
