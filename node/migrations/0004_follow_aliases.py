from tortoise import migrations
from tortoise.migrations import operations as ops
from tortoise.fields.base import OnDelete
from tortoise import fields

class Migration(migrations.Migration):
    dependencies = [('node', '0003_conversations')]

    initial = False

    operations = [
        ops.CreateModel(
            name='FollowAlias',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('follow', fields.ForeignKeyField('node.Follow', source_field='follow_id', db_constraint=True, to_field='id', related_name='aliases', on_delete=OnDelete.CASCADE)),
                ('activity_id', fields.CharField(unique=True, max_length=2048)),
            ],
            options={'table': 'follow_alias', 'app': 'node', 'pk_attr': 'id', 'table_description': 'An earlier id of a Follow the follower sent again under a new id.'},
            bases=['Model'],
        ),
    ]
