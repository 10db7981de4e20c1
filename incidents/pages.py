"""`/notifications`: a vendor's notification channels and incidents, as a page.

Server-rendered forms (no script): add an e-mail or webhook channel (a webhook's secret is
shown once, in the answer to the form, never stored in the session), send a test message,
remove a channel; the vendor's incidents, open ones first. For the vendor's `admin` role
(today: any user of the vendor).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render

from accounts.services import vendor_id_for
from incidents import notify
from incidents.kinds import EVENT_TYPES
from incidents.repository import ChannelRepository, IncidentRepository
from incidents.serializers import ChannelCreateSerializer

NO_VENDOR = "Your user does not belong to a vendor; ask an administrator to add it to one."


def _errors(detail: Any) -> list[str]:
    if isinstance(detail, dict):
        return [f"{field}: {msg}" for field, value in detail.items() for msg in _errors(value)]
    if isinstance(detail, list):
        return [msg for item in detail for msg in _errors(item)]
    return [str(detail)]


@login_required
def notifications_page(request: HttpRequest) -> HttpResponse:
    vendor_id = vendor_id_for(request.user)
    if vendor_id is None:
        raise PermissionDenied(NO_VENDOR)
    channels = ChannelRepository()
    context: dict[str, Any] = {"event_types": EVENT_TYPES, "errors": [], "new_secret": None}
    if request.method == "POST":
        action = request.POST.get("action")
        if action == "add":
            body: dict[str, Any] = {"kind": request.POST.get("kind", "")}
            target = request.POST.get("target", "").strip()
            body["address" if body["kind"] == "email" else "url"] = target
            events = request.POST.getlist("events")
            if events:
                body["events"] = events
            form = ChannelCreateSerializer(data=body)
            if form.is_valid():
                data = form.validated_data
                secret = token = None
                if data["kind"] == "webhook":
                    secret, token = notify.new_secret()
                channels.create(
                    vendor_id=vendor_id,
                    kind=data["kind"],
                    target=data["target"],
                    events=data["events"],
                    secret_token=token,
                    now=datetime.now(UTC),
                )
                context["new_secret"] = secret
                context["added"] = data["target"]
            else:
                context["errors"] = _errors(form.errors)
                context["form"] = {"kind": body["kind"], "target": target}
        elif action in ("test", "delete"):
            channel = channels.get_for_vendor(request.POST.get("channel_id", ""), vendor_id)
            if channel is None:
                messages.error(request, "That channel no longer exists.")
            elif action == "delete":
                channels.delete_for_vendor(channel.id, vendor_id)
                messages.success(request, f"Removed {channel.target}.")
            else:
                delivery = notify.send_test(channel)
                if delivery.status == "delivered":
                    messages.success(request, f"Test message delivered to {channel.target}.")
                else:
                    messages.error(
                        request, f"Test message to {channel.target} failed: {delivery.last_error}"
                    )
            return redirect("notifications")
    incidents = IncidentRepository().search(vendor_id=vendor_id, limit=50)
    context["channels"] = channels.list_for_vendor(vendor_id)
    context["incidents"] = sorted(incidents, key=lambda i: i.status != "open")
    return render(request, "incidents/notifications.html", context)
