"""Re-encrypt every encrypted field under the newest key in FIELD_ENCRYPTION_KEYS, or check that it is.

Rotation (SECURITY.md): put the new key first in FIELD_ENCRYPTION_KEYS (keep the old ones after it), deploy,
run this command, run it again with `--check`, then remove the old keys. Rows are rewritten in batches with a
plain UPDATE of the ciphertext, so nothing else about them (updated_at, history, version) changes.

`--check` writes nothing: it reads every stored value and fails if one cannot be decrypted with the configured
keys, or is not yet under the newest key (so dropping the older keys would make it unreadable). Run it before
removing an old key, and after restoring a backup to prove the keys kept beside it still open it.
"""

from __future__ import annotations

from cryptography.fernet import Fernet, InvalidToken
from django.apps import apps
from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.db import connection, models, transaction

from cases.fields import PREFIX, EncryptedTextField, fernet


def encrypted_models() -> list[tuple[type[models.Model], list[EncryptedTextField]]]:
    """Every model with encrypted columns, with those fields."""
    found = []
    for model in apps.get_models():
        fields = [f for f in model._meta.concrete_fields if isinstance(f, EncryptedTextField)]
        if fields:
            found.append((model, fields))
    return found


class Command(BaseCommand):
    help = "Re-encrypt encrypted fields under the newest FIELD_ENCRYPTION_KEYS key (or --check that they are)."

    def add_arguments(self, parser):
        parser.add_argument("--batch-size", type=int, default=500)
        parser.add_argument(
            "--check",
            action="store_true",
            help="Change nothing; fail unless every stored value decrypts and is under the newest key.",
        )

    def handle(self, *args, batch_size: int, check: bool, **options) -> None:
        if check:
            self.check_keys()
        else:
            self.rotate(batch_size)

    def rotate(self, batch_size: int) -> None:
        total = 0
        for model, fields in encrypted_models():
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

    def check_keys(self) -> None:
        # The raw column values, not the ORM's: the field would raise on the first unreadable row, and we want
        # to count them all. Each token is tried with the newest key alone, then with all the keys.
        newest = Fernet(settings.FIELD_ENCRYPTION_KEYS[0].encode())
        unreadable = stale = 0
        for model, fields in encrypted_models():
            quote = connection.ops.quote_name
            columns = ", ".join(quote(f.column) for f in fields)
            with connection.cursor() as cursor:
                cursor.execute(f"SELECT {columns} FROM {quote(model._meta.db_table)}")  # noqa: S608 (our own names)
                values = [value for row in cursor.fetchall() for value in row if value]
            model_unreadable = model_stale = 0
            for value in values:
                token = value.removeprefix(PREFIX).encode()
                try:
                    newest.decrypt(token)
                    continue
                except InvalidToken:
                    pass
                try:
                    fernet().decrypt(token)
                    model_stale += 1
                except InvalidToken:
                    model_unreadable += 1
            self.stdout.write(
                f"{model._meta.label}: {len(values)} values, {model_stale} under an older key, "
                f"{model_unreadable} unreadable"
            )
            unreadable += model_unreadable
            stale += model_stale
        if unreadable:
            raise CommandError(f"{unreadable} stored values cannot be decrypted with FIELD_ENCRYPTION_KEYS.")
        if stale:
            raise CommandError(
                f"{stale} stored values are still under an older key: run rotate_encryption_keys before removing it."
            )
        self.stdout.write(self.style.SUCCESS("Every stored value is under the newest key."))
