from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [("publishing", "0005_posting_slots")]

    operations = [
        migrations.AddField(
            model_name="campaign",
            name="link_tracking",
            field=models.CharField(blank=True, max_length=500, verbose_name="link tracking"),
        ),
    ]
