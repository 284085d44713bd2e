"""The errors of :mod:`gatehouse.client`, one class per problem ``code``.

Every refusal of ``gatehouse serve`` is an RFC 9457 problem document with a
stable ``code``; the client raises the :class:`ProblemError` subclass named
for that code (``SELF_APPROVAL`` -> :class:`SelfApproval`). The classes sit
under one class per HTTP status (:class:`Forbidden`, :class:`Conflict`, ...),
those under :class:`ClientError` (4xx) or :class:`ServerError` (5xx), so a
caller catches as narrowly or as broadly as it likes::

    try:
        client.review(request_id, "approve", reason="checked")
    except gatehouse.errors.SelfApproval:
        ...                      # this reviewer asked for it
    except gatehouse.errors.Conflict as e:
        print(e.code, e.state)   # the lifecycle refused the step
    except gatehouse.errors.ProblemError as e:
        print(e.status, e.code, e.detail, e.errors)

A code this client does not know gets :class:`ClientError` or
:class:`ServerError` (by the status family), never swallowed; an error
answer that is not a problem document (a proxy's HTML page) gets the same,
with ``code`` None. Failures to reach the server at all are
:class:`GatehouseConnectionError`; an answer the client cannot read is
:class:`ProtocolError`; :meth:`~gatehouse.client.GatehouseClient.wait_for_decision`
running out of time is :class:`WaitTimeout`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, ClassVar
from collections.abc import Mapping

if TYPE_CHECKING:
    from ._models import Request

__all__ = [
    "GatehouseError",
    "GatehouseConnectionError",
    "ProtocolError",
    "ResponseTooLarge",
    "WaitTimeout",
    "EncodeError",
    "ProblemError",
    "ClientError",
    "ServerError",
    "problem_class",
]


class GatehouseError(Exception):
    """The base of every error the client raises."""


class GatehouseConnectionError(GatehouseError):
    """The server could not be reached, or the connection broke or timed out.

    The message names the underlying failure; the exception of the HTTP
    library is not chained, since it carries the request with its headers.
    """


class ProtocolError(GatehouseError):
    """The server answered something the client cannot read (not JSON, not
    a request, a broken event stream); the client fails closed."""


class ResponseTooLarge(ProtocolError):
    """An answer (or one server-sent event) was over the client's
    ``max_response_bytes``; reading stopped at the cap."""


class EncodeError(GatehouseError, ValueError):
    """An action or report could not be encoded as JSON (NaN, a set, ...)."""


class WaitTimeout(GatehouseError, TimeoutError):
    """``wait_for_decision`` ran out of time; ``last`` is the last request
    seen (None when none could be read)."""

    def __init__(self, message: str, last: Request | None) -> None:
        super().__init__(message)
        self.last: Request | None = last
        """The request as last seen, still pending (or None)."""


class ProblemError(GatehouseError):
    """An error answer of the server (status 3xx, 4xx or 5xx).

    Attributes mirror the problem document: ``status``, ``code`` (None when
    the body was not a problem document), ``title``, ``detail``, ``errors``
    (the ``errors`` array: ``{"path": "$.reason", "detail": ...}``),
    ``state`` (the request's state on a 409), ``type``, ``retry_after``
    (seconds, from the ``Retry-After`` header) and ``problem`` (the whole
    document as a dict; ``{}`` when there was none).
    """

    codes: ClassVar[tuple[str, ...]] = ()
    """The problem codes this class stands for."""
    http_status: ClassVar[int | None] = None
    """The status these codes come with."""

    def __init__(
        self,
        status: int,
        problem: Mapping[str, Any] | None = None,
        *,
        retry_after: float | None = None,
        body: str = "",
    ) -> None:
        doc: dict[str, Any] = dict(problem) if problem else {}
        self.status: int = status
        """The HTTP status."""
        self.problem: dict[str, Any] = doc
        """The problem document as sent (``{}`` when the body was not one)."""
        self.code: str | None = _text(doc.get("code"))
        """The stable problem code (``"SELF_APPROVAL"``), None without one."""
        self.title: str | None = _text(doc.get("title"))
        """The status's title."""
        self.detail: str | None = _text(doc.get("detail")) or (body or None)
        """What went wrong, for people (the body's start when not a problem)."""
        self.type: str | None = _text(doc.get("type"))
        """The problem type URI."""
        self.state: str | None = _text(doc.get("state"))
        """The request's state, on a 409."""
        raw_errors = doc.get("errors")
        self.errors: list[dict[str, Any]] = (
            [e for e in raw_errors if isinstance(e, dict)] if isinstance(raw_errors, list) else []
        )
        """The located problems: ``[{"path": "$.reason", "detail": ...}]``."""
        self.retry_after: float | None = retry_after
        """Seconds to wait before trying again (``Retry-After``), if sent."""
        super().__init__(self._message())

    @property
    def paths(self) -> list[str]:
        """The JSON paths (or ``query.NAME``) of ``errors``, in order."""
        return [e["path"] for e in self.errors if isinstance(e.get("path"), str)]

    def _message(self) -> str:
        head = f"{self.status} {self.code}" if self.code else f"{self.status}"
        return f"{head}: {self.detail}" if self.detail else head

    def __repr__(self) -> str:
        return f"{type(self).__name__}(status={self.status}, code={self.code!r}, detail={self.detail!r})"


def _text(value: Any) -> str | None:
    return value if isinstance(value, str) else None


class ClientError(ProblemError):
    """A 4xx answer: the call was refused; the same call will be refused again."""


class ServerError(ProblemError):
    """A 5xx answer: the server failed or is unavailable; retry later."""


# One class per status, under the family; the code classes sit under them.
class BadRequest(ClientError):
    """400: malformed JSON, query or idempotency key."""

    http_status = 400


class Unauthenticated(ClientError):
    """401 ``UNAUTHENTICATED``: no, malformed, unknown or revoked credentials.

    A refused OIDC token raises the subclass named for the engine's refusal
    code (:class:`TokenExpired`, :class:`BadSignature`, ...)."""

    http_status = 401
    codes = ("UNAUTHENTICATED",)


class Forbidden(ClientError):
    """403: the caller may not do this (scope, separation of duties, roles)."""

    http_status = 403


class NotFound(ClientError):
    """404 ``NOT_FOUND``: no such request, or not one the caller may see."""

    http_status = 404
    codes = ("NOT_FOUND",)


class MethodNotAllowed(ClientError):
    """405 ``METHOD_NOT_ALLOWED``."""

    http_status = 405
    codes = ("METHOD_NOT_ALLOWED",)


class Conflict(ClientError):
    """409: the lifecycle, the request's content, its deadline or the policy
    in force refuses the step now; ``state`` is the request's state."""

    http_status = 409


class PayloadTooLarge(ClientError):
    """413: a body or batch over the server's limits."""

    http_status = 413


class UnsupportedMediaType(ClientError):
    """415 ``UNSUPPORTED_MEDIA_TYPE``."""

    http_status = 415
    codes = ("UNSUPPORTED_MEDIA_TYPE",)


class Unprocessable(ClientError):
    """422: JSON that is not what the endpoint takes (see ``errors``)."""

    http_status = 422


class TooManyRequests(ClientError):
    """429: over a rate or wait limit; ``retry_after`` says when to come back."""

    http_status = 429


class ServiceUnavailable(ServerError):
    """503: over the request timeout, shutting down, or the database is away."""

    http_status = 503


# One class per code of docs/service.md "Problems" (and the OIDC refusals).


class InvalidJson(BadRequest):
    """400 ``INVALID_JSON``: Not JSON, not UTF-8, a duplicate key, nesting too deep."""

    codes = ("INVALID_JSON",)


class InvalidQuery(BadRequest):
    """400 ``INVALID_QUERY``: A bad wait or audit query."""

    codes = ("INVALID_QUERY",)


class InvalidIdempotencyKey(BadRequest):
    """400 ``INVALID_IDEMPOTENCY_KEY``: A malformed Idempotency-Key."""

    codes = ("INVALID_IDEMPOTENCY_KEY",)


class UnreadableBody(BadRequest):
    """400 ``UNREADABLE_BODY``: A body that could not be read."""

    codes = ("UNREADABLE_BODY",)


class TokenExpired(Unauthenticated):
    """401 ``TOKEN_EXPIRED``: An OIDC token whose exp has passed."""

    codes = ("TOKEN_EXPIRED",)


class TokenNotYetValid(Unauthenticated):
    """401 ``TOKEN_NOT_YET_VALID``: An OIDC token from the future."""

    codes = ("TOKEN_NOT_YET_VALID",)


class BadIssuer(Unauthenticated):
    """401 ``BAD_ISSUER``: An OIDC token of another issuer."""

    codes = ("BAD_ISSUER",)


class BadAudience(Unauthenticated):
    """401 ``BAD_AUDIENCE``: An OIDC token for another audience."""

    codes = ("BAD_AUDIENCE",)


class UnsupportedAlg(Unauthenticated):
    """401 ``UNSUPPORTED_ALG``: An OIDC token signed with a refused algorithm."""

    codes = ("UNSUPPORTED_ALG",)


class UnknownKey(Unauthenticated):
    """401 ``UNKNOWN_KEY``: An OIDC token whose kid is not in the JWKS."""

    codes = ("UNKNOWN_KEY",)


class BadSignature(Unauthenticated):
    """401 ``BAD_SIGNATURE``: An OIDC token with a bad signature."""

    codes = ("BAD_SIGNATURE",)


class MissingClaim(Unauthenticated):
    """401 ``MISSING_CLAIM``: An OIDC token without a required claim."""

    codes = ("MISSING_CLAIM",)


class MalformedToken(Unauthenticated):
    """401 ``MALFORMED``: A token that is not a compact JWS."""

    codes = ("MALFORMED",)


class OversizedToken(Unauthenticated):
    """401 ``OVERSIZED``: A token that is too large."""

    codes = ("OVERSIZED",)


class ScopeMissing(Forbidden):
    """403 ``SCOPE_MISSING``: The credentials lack the endpoint's scope."""

    codes = ("SCOPE_MISSING",)


class SelfApproval(Forbidden):
    """403 ``SELF_APPROVAL``: The reviewer asked for the action (or owns the agent)."""

    codes = ("SELF_APPROVAL",)


class RoleNotEligible(Forbidden):
    """403 ``ROLE_NOT_ELIGIBLE``: The reviewer holds none of the roles that can act."""

    codes = ("ROLE_NOT_ELIGIBLE",)


class ExcludedIdentity(Forbidden):
    """403 ``EXCLUDED_IDENTITY``: The policy excludes this reviewer."""

    codes = ("EXCLUDED_IDENTITY",)


class NotRequester(Forbidden):
    """403 ``NOT_REQUESTER``: Only the requester (or an admin) can do this."""

    codes = ("NOT_REQUESTER",)


class OverApproverLimit(Forbidden):
    """403 ``OVER_APPROVER_LIMIT``: Over the reviewer's approval limit."""

    codes = ("OVER_APPROVER_LIMIT",)


class BatchNotAllowed(Forbidden):
    """403 ``BATCH_NOT_ALLOWED``: Batch review of a request that is not queue."""

    codes = ("BATCH_NOT_ALLOWED",)


class NoRoute(NotFound):
    """404 ``NO_ROUTE``: No such endpoint."""

    codes = ("NO_ROUTE",)


class IllegalTransition(Conflict):
    """409 ``ILLEGAL_TRANSITION``: The lifecycle does not allow the step now."""

    codes = ("ILLEGAL_TRANSITION",)


class AlreadyClaimed(Conflict):
    """409 ``ALREADY_CLAIMED``: The one claim was already granted."""

    codes = ("ALREADY_CLAIMED",)


class RequestFinal(Conflict):
    """409 ``REQUEST_FINAL``: The request is in a final state."""

    codes = ("REQUEST_FINAL",)


class DigestMismatch(Conflict):
    """409 ``DIGEST_MISMATCH``: The action's digest is not the request's."""

    codes = ("DIGEST_MISMATCH",)


class SameApproverTwice(Conflict):
    """409 ``SAME_APPROVER_TWICE``: This person approved already."""

    codes = ("SAME_APPROVER_TWICE",)


class RequestTimedOut(Conflict):
    """409 ``REQUEST_TIMED_OUT``: The request's deadline has passed."""

    codes = ("REQUEST_TIMED_OUT",)


class BlockedNow(Conflict):
    """409 ``BLOCKED_NOW``: The policy in force now blocks the action."""

    codes = ("BLOCKED_NOW",)


class ReapprovalRequired(Conflict):
    """409 ``REAPPROVAL_REQUIRED``: The policy in force asks for more approvals."""

    codes = ("REAPPROVAL_REQUIRED",)


class ConditionNotMet(Conflict):
    """409 ``CONDITION_NOT_MET``: A condition of the approval is not met."""

    codes = ("CONDITION_NOT_MET",)


class ApprovalExpired(Conflict):
    """409 ``APPROVAL_EXPIRED``: An approval the request held has expired."""

    codes = ("APPROVAL_EXPIRED",)


class ConcurrentChange(Conflict):
    """409 ``CONCURRENT_CHANGE``: Another change won the race; read and retry."""

    codes = ("CONCURRENT_CHANGE",)


class BodyTooLarge(PayloadTooLarge):
    """413 ``BODY_TOO_LARGE``: Over limits.body_bytes."""

    codes = ("BODY_TOO_LARGE",)


class BatchTooLarge(PayloadTooLarge):
    """413 ``BATCH_TOO_LARGE``: Over limits.batch_size actions."""

    codes = ("BATCH_TOO_LARGE",)


class InvalidBody(Unprocessable):
    """422 ``INVALID_BODY``: Unknown fields, wrong types, bad filters (see errors)."""

    codes = ("INVALID_BODY",)


class IdempotencyKeyReused(Unprocessable):
    """422 ``IDEMPOTENCY_KEY_REUSED``: The key was used for another body."""

    codes = ("IDEMPOTENCY_KEY_REUSED",)


class ReasonRequired(Unprocessable):
    """422 ``REASON_REQUIRED``: This decision needs a reason."""

    codes = ("REASON_REQUIRED",)


class PolicyInvalid(Unprocessable):
    """422 ``POLICY_INVALID``: A reload whose files do not check."""

    codes = ("POLICY_INVALID",)


class RateLimited(TooManyRequests):
    """429 ``RATE_LIMITED``: Over the caller's rate; see retry_after."""

    codes = ("RATE_LIMITED",)


class TooManyWaits(TooManyRequests):
    """429 ``TOO_MANY_WAITS``: Holding too many long-polls and event streams."""

    codes = ("TOO_MANY_WAITS",)


class StoreError(ServerError):
    """``STORE_ERROR``: The database failed (details are in the server's log)."""

    codes = ("STORE_ERROR",)
    http_status = 500


class InternalError(ServerError):
    """``INTERNAL``: The server failed (details are in its log)."""

    codes = ("INTERNAL",)
    http_status = 500


class RequestTimeout(ServiceUnavailable):
    """503 ``REQUEST_TIMEOUT``: Over limits.request_timeout_ms; retry later."""

    codes = ("REQUEST_TIMEOUT",)


class ShuttingDown(ServiceUnavailable):
    """503 ``SHUTTING_DOWN``: The server is shutting down; retry later."""

    codes = ("SHUTTING_DOWN",)


class StoreUnavailable(ServiceUnavailable):
    """503 ``STORE_UNAVAILABLE``: The database is not answering."""

    codes = ("STORE_UNAVAILABLE",)


_BY_CODE: dict[str, type[ProblemError]] = {
    "UNAUTHENTICATED": Unauthenticated,
    "NOT_FOUND": NotFound,
    "METHOD_NOT_ALLOWED": MethodNotAllowed,
    "UNSUPPORTED_MEDIA_TYPE": UnsupportedMediaType,
    "INVALID_JSON": InvalidJson,
    "INVALID_QUERY": InvalidQuery,
    "INVALID_IDEMPOTENCY_KEY": InvalidIdempotencyKey,
    "UNREADABLE_BODY": UnreadableBody,
    "TOKEN_EXPIRED": TokenExpired,
    "TOKEN_NOT_YET_VALID": TokenNotYetValid,
    "BAD_ISSUER": BadIssuer,
    "BAD_AUDIENCE": BadAudience,
    "UNSUPPORTED_ALG": UnsupportedAlg,
    "UNKNOWN_KEY": UnknownKey,
    "BAD_SIGNATURE": BadSignature,
    "MISSING_CLAIM": MissingClaim,
    "MALFORMED": MalformedToken,
    "OVERSIZED": OversizedToken,
    "SCOPE_MISSING": ScopeMissing,
    "SELF_APPROVAL": SelfApproval,
    "ROLE_NOT_ELIGIBLE": RoleNotEligible,
    "EXCLUDED_IDENTITY": ExcludedIdentity,
    "NOT_REQUESTER": NotRequester,
    "OVER_APPROVER_LIMIT": OverApproverLimit,
    "BATCH_NOT_ALLOWED": BatchNotAllowed,
    "NO_ROUTE": NoRoute,
    "ILLEGAL_TRANSITION": IllegalTransition,
    "ALREADY_CLAIMED": AlreadyClaimed,
    "REQUEST_FINAL": RequestFinal,
    "DIGEST_MISMATCH": DigestMismatch,
    "SAME_APPROVER_TWICE": SameApproverTwice,
    "REQUEST_TIMED_OUT": RequestTimedOut,
    "BLOCKED_NOW": BlockedNow,
    "REAPPROVAL_REQUIRED": ReapprovalRequired,
    "CONDITION_NOT_MET": ConditionNotMet,
    "APPROVAL_EXPIRED": ApprovalExpired,
    "CONCURRENT_CHANGE": ConcurrentChange,
    "BODY_TOO_LARGE": BodyTooLarge,
    "BATCH_TOO_LARGE": BatchTooLarge,
    "INVALID_BODY": InvalidBody,
    "IDEMPOTENCY_KEY_REUSED": IdempotencyKeyReused,
    "REASON_REQUIRED": ReasonRequired,
    "POLICY_INVALID": PolicyInvalid,
    "RATE_LIMITED": RateLimited,
    "TOO_MANY_WAITS": TooManyWaits,
    "STORE_ERROR": StoreError,
    "INTERNAL": InternalError,
    "REQUEST_TIMEOUT": RequestTimeout,
    "SHUTTING_DOWN": ShuttingDown,
    "STORE_UNAVAILABLE": StoreUnavailable,
}
__all__ += [
    "BadRequest",
    "Unauthenticated",
    "Forbidden",
    "NotFound",
    "MethodNotAllowed",
    "Conflict",
    "PayloadTooLarge",
    "UnsupportedMediaType",
    "Unprocessable",
    "TooManyRequests",
    "ServiceUnavailable",
    "InvalidJson",
    "InvalidQuery",
    "InvalidIdempotencyKey",
    "UnreadableBody",
    "TokenExpired",
    "TokenNotYetValid",
    "BadIssuer",
    "BadAudience",
    "UnsupportedAlg",
    "UnknownKey",
    "BadSignature",
    "MissingClaim",
    "MalformedToken",
    "OversizedToken",
    "ScopeMissing",
    "SelfApproval",
    "RoleNotEligible",
    "ExcludedIdentity",
    "NotRequester",
    "OverApproverLimit",
    "BatchNotAllowed",
    "NoRoute",
    "IllegalTransition",
    "AlreadyClaimed",
    "RequestFinal",
    "DigestMismatch",
    "SameApproverTwice",
    "RequestTimedOut",
    "BlockedNow",
    "ReapprovalRequired",
    "ConditionNotMet",
    "ApprovalExpired",
    "ConcurrentChange",
    "BodyTooLarge",
    "BatchTooLarge",
    "InvalidBody",
    "IdempotencyKeyReused",
    "ReasonRequired",
    "PolicyInvalid",
    "RateLimited",
    "TooManyWaits",
    "StoreError",
    "InternalError",
    "RequestTimeout",
    "ShuttingDown",
    "StoreUnavailable",
]


def problem_class(status: int, code: str | None) -> type[ProblemError]:
    """The class for an error answer: the code's class when the code is known
    and its status family matches the answer's, else :class:`ClientError`
    (4xx), :class:`ServerError` (5xx) or :class:`ProblemError` (anything else)."""
    cls = _BY_CODE.get(code) if code else None
    family = status // 100
    if cls is not None and cls.http_status is not None and cls.http_status // 100 == family:
        return cls
    if family == 4:
        return ClientError
    if family == 5:
        return ServerError
    return ProblemError
