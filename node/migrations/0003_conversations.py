from tortoise import migrations
from tortoise.migrations import operations as ops
from tortoise.fields.base import OnDelete
from tortoise import fields

class Migration(migrations.Migration):
    dependencies = [('node', '0002_follows')]

    initial = False

    operations = [
        ops.CreateModel(
            name='Conversation',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('context', fields.CharField(unique=True, max_length=2048)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
                ('updated_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
            ],
            options={'table': 'conversation', 'app': 'node', 'pk_attr': 'id', 'table_description': 'A private exchange between a set of actors (local or remote).'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='Message',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('conversation', fields.ForeignKeyField('node.Conversation', source_field='conversation_id', db_constraint=True, to_field='id', related_name='messages', on_delete=OnDelete.CASCADE)),
                ('ap_id', fields.CharField(unique=True, max_length=2048)),
                ('author', fields.CharField(max_length=2048)),
                ('text', fields.TextField(unique=False)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
                ('edited_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('deleted_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
            ],
            options={'table': 'conversation_message', 'app': 'node', 'pk_attr': 'id', 'table_description': 'One message: plain text, whatever HTML it arrived in.'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='Participant',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('conversation', fields.ForeignKeyField('node.Conversation', source_field='conversation_id', db_constraint=True, to_field='id', related_name='participants', on_delete=OnDelete.CASCADE)),
                ('actor', fields.CharField(max_length=2048)),
                ('local', fields.BooleanField(default=False)),
                ('last_read_id', fields.IntField(default=0)),
            ],
            options={'table': 'conversation_participant', 'app': 'node', 'unique_together': (('conversation', 'actor'),), 'pk_attr': 'id', 'table_description': 'An actor in a conversation, and for our members how far they have read.'},
            bases=['Model'],
        ),
    ]
