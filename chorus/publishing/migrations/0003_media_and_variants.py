# The media library, and variants that override media, link, hashtags, first comment and thread.
import django.db.models.deletion
import django.utils.timezone
from django.conf import settings
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("orgs", "0001_initial"),
        ("publishing", "0002_calendar_feed"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.AddField(
            model_name="post",
            name="first_comment",
            field=models.TextField(blank=True, verbose_name="first comment"),
        ),
        migrations.AddField(
            model_name="post",
            name="hashtags",
            field=models.JSONField(blank=True, default=list, verbose_name="hashtags"),
        ),
        migrations.AddField(
            model_name="post",
            name="link",
            field=models.JSONField(blank=True, default=dict, verbose_name="link"),
        ),
        migrations.AddField(
            model_name="post",
            name="locked_fields",
            field=models.JSONField(blank=True, default=list, verbose_name="locked fields"),
        ),
        migrations.AddField(
            model_name="post",
            name="mandatory_mention",
            field=models.TextField(blank=True, verbose_name="mandatory mention"),
        ),
        migrations.AddField(
            model_name="post",
            name="thread",
            field=models.JSONField(blank=True, default=list, verbose_name="thread"),
        ),
        migrations.AddField(
            model_name="variant",
            name="first_comment",
            field=models.TextField(blank=True, verbose_name="first comment"),
        ),
        migrations.AddField(
            model_name="variant",
            name="hashtags",
            field=models.JSONField(blank=True, default=list, verbose_name="hashtags"),
        ),
        migrations.AddField(
            model_name="variant",
            name="link",
            field=models.JSONField(blank=True, default=dict, verbose_name="link"),
        ),
        migrations.AddField(
            model_name="variant",
            name="thread",
            field=models.JSONField(blank=True, default=list, verbose_name="thread"),
        ),
        migrations.CreateModel(
            name="MediaAsset",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                ("name", models.CharField(max_length=255, verbose_name="name")),
                ("stored_as", models.CharField(editable=False, max_length=300, unique=True)),
                ("mime_type", models.CharField(max_length=100)),
                (
                    "kind",
                    models.CharField(
                        choices=[("image", "Image"), ("gif", "GIF"), ("video", "Video")],
                        max_length=10,
                        verbose_name="kind",
                    ),
                ),
                ("size", models.PositiveBigIntegerField()),
                ("width", models.PositiveIntegerField(blank=True, null=True)),
                ("height", models.PositiveIntegerField(blank=True, null=True)),
                ("alt_text", models.TextField(blank=True, verbose_name="alt text")),
                ("created_at", models.DateTimeField(default=django.utils.timezone.now)),
                (
                    "uploaded_by",
                    models.ForeignKey(
                        null=True,
                        on_delete=django.db.models.deletion.SET_NULL,
                        related_name="+",
                        to=settings.AUTH_USER_MODEL,
                    ),
                ),
                (
                    "workspace",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="media_assets",
                        to="orgs.workspace",
                    ),
                ),
            ],
            options={"ordering": ["-id"]},
        ),
        migrations.CreateModel(
            name="AttachedMedia",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                ("position", models.PositiveSmallIntegerField(default=0)),
                (
                    "post",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="attached_media",
                        to="publishing.post",
                    ),
                ),
                (
                    "variant",
                    models.ForeignKey(
                        blank=True,
                        null=True,
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="attached_media",
                        to="publishing.variant",
                    ),
                ),
                (
                    "asset",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.RESTRICT,
                        related_name="attachments",
                        to="publishing.mediaasset",
                    ),
                ),
            ],
            options={"ordering": ["position", "id"]},
        ),
    ]
