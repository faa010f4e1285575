"""Re-encrypt every encrypted field under the newest key in FIELD_ENCRYPTION_KEYS.

Rotation: put the new key first in FIELD_ENCRYPTION_KEYS (keep the old ones after it), deploy, run this
command, then remove the old keys. Rows are rewritten in batches with a plain UPDATE of the ciphertext,
so nothing else about them (updated_at, history, version) changes.
"""

from __future__ import annotations

from django.apps import apps
from django.core.management.base import BaseCommand
from django.db import transaction

from cases.fields import EncryptedTextField


class Command(BaseCommand):
    help = "Re-encrypt encrypted fields under the newest FIELD_ENCRYPTION_KEYS key."

    def add_arguments(self, parser):
        parser.add_argument("--batch-size", type=int, default=500)

    def handle(self, *args, batch_size: int, **options) -> None:
        total = 0
        for model in apps.get_models():
            fields = [f for f in model._meta.concrete_fields if isinstance(f, EncryptedTextField)]
            if not fields:
                continue
            names = [f.attname for f in fields]
            # Reading decrypts with whichever key fits; writing encrypts with the first (MultiFernet).
            pks = list(model._base_manager.order_by("pk").values_list("pk", flat=True))
            count = 0
            for start in range(0, len(pks), batch_size):
                with transaction.atomic():
                    for obj in model._base_manager.filter(pk__in=pks[start : start + batch_size]).select_for_update():
                        updates = {}
                        for name in names:
                            value = getattr(obj, name)
                            if value:
                                updates[name] = value  # re-saved: get_prep_value encrypts under the newest key
                        if updates:
                            model._base_manager.filter(pk=obj.pk).update(**updates)
                            count += 1
            total += count
            self.stdout.write(f"{model._meta.label}: {count} rows re-encrypted")
        self.stdout.write(self.style.SUCCESS(f"Done: {total} rows under the newest key."))
