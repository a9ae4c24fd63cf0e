# "Publish now" and channels' queues of weekly posting slots.
import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("channels", "0003_account_picker"),
        ("publishing", "0004_glocal_adaptation"),
    ]

    operations = [
        migrations.AddField(
            model_name="delivery",
            name="publish_now",
            field=models.BooleanField(default=False),
        ),
        migrations.CreateModel(
            name="PostingSlot",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                (
                    "weekday",
                    models.PositiveSmallIntegerField(
                        choices=[
                            (0, "Monday"),
                            (1, "Tuesday"),
                            (2, "Wednesday"),
                            (3, "Thursday"),
                            (4, "Friday"),
                            (5, "Saturday"),
                            (6, "Sunday"),
                        ],
                        verbose_name="day of the week",
                    ),
                ),
                ("local_time", models.TimeField(verbose_name="time")),
                ("zone", models.CharField(max_length=64, verbose_name="time zone")),
                (
                    "channel",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="posting_slots",
                        to="channels.channel",
                    ),
                ),
            ],
            options={
                "ordering": ["weekday", "local_time", "id"],
                "constraints": [
                    models.UniqueConstraint(
                        fields=("channel", "weekday", "local_time", "zone"),
                        name="one_slot_per_time",
                    )
                ],
            },
        ),
    ]
