from tortoise import migrations
from tortoise.migrations import operations as ops
import functools
from json import dumps, loads
from tortoise import fields

class Migration(migrations.Migration):
    dependencies = [('moderation', '0002_reports_and_decisions')]

    initial = False

    operations = [
        ops.CreateModel(
            name='PolicyOverride',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('values', fields.JSONField(default=dict, encoder=functools.partial(dumps, separators=(',', ':')), decoder=loads)),
                ('changed_by', fields.CharField(default='', max_length=100)),
                ('changed_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
            ],
            options={'table': 'policy_override', 'app': 'moderation', 'pk_attr': 'id', 'table_description': 'The governance settings admins changed through the API, over those of quartier.toml.'},
            bases=['Model'],
        ),
    ]
