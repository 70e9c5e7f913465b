"""The organisation's settings over the API, for its admins: GET and PATCH
/api/v1/organisation.

Only ever the token's own organisation (the address has no id). Every change goes through
``zegel.orgs.actions.update_organisation``, the same checks as the Organisation page and
`zegel org set`; a refused value is a 400 problem naming the setting in `field`, and nothing
changes.
"""

from __future__ import annotations

from typing import Any, Literal

from django.http import HttpRequest, HttpResponse
from ninja import Router, Schema
from pydantic import ConfigDict, Field, StrictBool, StrictInt, StrictStr

from zegel.api.auth import BearerToken, api_user
from zegel.api.inputs import Input
from zegel.api.problems import problems
from zegel.core.problems import problem_response
from zegel.orgs import roles
from zegel.orgs.actions import Refused, organisation_settings, update_organisation
from zegel.orgs.models import Organisation, User

# A token with the admin scope, of a user whose role may change the organisation's settings.
router = Router(tags=["organisation settings"], auth=BearerToken(scope="admin"))

_DESCRIPTIONS = {
    "name": "The organisation's name, shown to recipients (at most 200 characters).",
    "contact_email": "Where recipients can write to the organisation; empty for none.",
    "contact_phone": "Where recipients can call (digits, spaces, +, - and brackets); empty "
                     "for none.",
    "info_url": "The organisation's own http(s) page on recognising a genuine message; empty "
                "for Zegel's page for it.",
    "brand_colour": "#rrggbb; white text on it needs a contrast of at least 4.5:1.",
    "explanation_nl": "The organisation's own words in every notification, in Dutch: plain "
                      "text, at most 2000 characters.",
    "explanation_en": "The same in English; recipients reading English get the Dutch one "
                      "when this is empty.",
    "button_text": "The notification's button text, at most 60 characters; empty for Zegel's "
                   "own.",
    "default_expiry_days": "Days a new message stays available unless its sender chooses "
                           "otherwise, 0 to 365; 0 for no end date.",
    "max_expiry_days": "The longest end date a sender may choose, 0 to 365 days; 0 for no "
                       "maximum.",
    "default_method": "The verification method a new recipient starts with on the compose "
                      "page.",
    "email_code_allowed": "Whether senders may choose the e-mail code.",
    "portal_idle_minutes": "How long a verified recipient stays signed in on the portal "
                           "without activity: 2 to 120 minutes, or 0 for the installation's.",
    "max_attachment_mb": "The largest attachment in MB, up to the installation's limit; 0 "
                         "for the installation's.",
    "notification_sender": "Whom notifications name as their sender: 'platform', the "
                           "organisation ('Zorggroep Noord via Zegel'), or 'on_behalf', the "
                           "staff member who sends ('Anna de Vries via Zorggroep Noord', "
                           "with Reply-To their address).",
    "languages": "The languages recipients are offered, as codes (Zegel ships 'nl' and "
                 "'en'); at least one. The portal's language switch offers only these.",
    "default_language": "The language of a recipient's notification and portal unless they "
                        "choose another offered one; one of languages.",
}
Method = Literal["sms", "access_code", "email"]


def _d(name: str) -> str:
    return _DESCRIPTIONS[name]


class OrganisationOut(Schema):
    domain: str = Field(description="The organisation's domain (set by the operator).")
    logo_url: str = Field(description="The logo's public address; empty when it has none "
                          "(the logo is uploaded on the Organisation page).")
    genuine_url: str = Field(description="Where recipients read how to recognise a genuine "
                             "message: info_url, or Zegel's page for the organisation.")
    name: str = Field(description=_d("name"))
    contact_email: str = Field(description=_d("contact_email"))
    contact_phone: str = Field(description=_d("contact_phone"))
    info_url: str = Field(description=_d("info_url"))
    brand_colour: str = Field(description=_d("brand_colour"))
    explanation_nl: str = Field(description=_d("explanation_nl"))
    explanation_en: str = Field(description=_d("explanation_en"))
    button_text: str = Field(description=_d("button_text"))
    default_expiry_days: int = Field(description=_d("default_expiry_days"))
    max_expiry_days: int = Field(description=_d("max_expiry_days"))
    default_method: str = Field(description=_d("default_method"))
    email_code_allowed: bool = Field(description=_d("email_code_allowed"))
    portal_idle_minutes: int = Field(description=_d("portal_idle_minutes"))
    max_attachment_mb: int = Field(description=_d("max_attachment_mb"))
    notification_sender: str = Field(description=_d("notification_sender"))
    languages: list[str] = Field(description=_d("languages"))
    default_language: str = Field(description=_d("default_language"))


class OrganisationPatch(Input):
    """The settings to change; each one left out stays as it is. The value checks are the
    Organisation page's (zegel.orgs.actions.update_organisation): a refusal is a 400 naming
    the setting."""

    model_config = ConfigDict(extra="forbid")

    name: str = Field(default=None, description=_d("name"))  # type: ignore[assignment]
    contact_email: str = Field(default=None,  # type: ignore[assignment]
                               description=_d("contact_email"))
    contact_phone: str = Field(default=None,  # type: ignore[assignment]
                               description=_d("contact_phone"))
    info_url: str = Field(default=None, description=_d("info_url"))  # type: ignore[assignment]
    brand_colour: str = Field(default=None,  # type: ignore[assignment]
                              description=_d("brand_colour"))
    explanation_nl: str = Field(default=None,  # type: ignore[assignment]
                                description=_d("explanation_nl"))
    explanation_en: str = Field(default=None,  # type: ignore[assignment]
                                description=_d("explanation_en"))
    button_text: str = Field(default=None,  # type: ignore[assignment]
                             description=_d("button_text"))
    default_expiry_days: StrictInt = Field(default=None,  # type: ignore[assignment]
                                           description=_d("default_expiry_days"))
    max_expiry_days: StrictInt = Field(default=None,  # type: ignore[assignment]
                                       description=_d("max_expiry_days"))
    default_method: Method = Field(default=None,  # type: ignore[arg-type]
                                   description=_d("default_method"))
    email_code_allowed: StrictBool = Field(default=None,  # type: ignore[assignment]
                                           description=_d("email_code_allowed"))
    portal_idle_minutes: StrictInt = Field(default=None,  # type: ignore[assignment]
                                           description=_d("portal_idle_minutes"))
    max_attachment_mb: StrictInt = Field(default=None,  # type: ignore[assignment]
                                         description=_d("max_attachment_mb"))
    notification_sender: Literal["platform", "on_behalf"] = Field(
        default=None, description=_d("notification_sender"))  # type: ignore[arg-type]
    # Any text: an unknown code is update_organisation's 400 naming it, the same as the page's.
    languages: list[StrictStr] = Field(default=None,  # type: ignore[arg-type]
                                       max_length=20, description=_d("languages"))
    default_language: StrictStr = Field(default=None,  # type: ignore[assignment]
                                        max_length=20, description=_d("default_language"))


def _admin(request: HttpRequest) -> User | HttpResponse:
    user = api_user(request)
    if not roles.allows(user, roles.Permission.MANAGE_SETTINGS):
        return problem_response(request, 403, roles.refusal(roles.Permission.MANAGE_SETTINGS))
    return user


def _out(org: Organisation) -> dict[str, Any]:
    return {"domain": org.domain, "logo_url": org.logo_url, "genuine_url": org.genuine_url,
            **organisation_settings(org)}


@router.get("", response={200: OrganisationOut, **problems(403)})
def get_organisation(request: HttpRequest) -> Any:
    user = _admin(request)
    if isinstance(user, HttpResponse):
        return user
    return _out(Organisation.objects.get(pk=user.organisation_id))


@router.patch("", response={200: OrganisationOut, **problems(400, 403)})
def patch_organisation(request: HttpRequest, payload: OrganisationPatch) -> Any:
    user = _admin(request)
    if isinstance(user, HttpResponse):
        return user
    # Only what the body names (a null is refused by the schema: 422).
    values = payload.model_dump(exclude_unset=True)
    try:
        org = update_organisation(user.organisation.domain, actor=user, **values)
    except Refused as exc:
        return problem_response(request, exc.status, exc.message, field=exc.field or None)
    return _out(org)

