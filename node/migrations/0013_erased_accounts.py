from tortoise import migrations
from tortoise.migrations import operations as ops
from tortoise import fields

class Migration(migrations.Migration):
    dependencies = [('node', '0012_member_suspension')]

    initial = False

    operations = [
        ops.CreateModel(
            name='ErasedAccount',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('username', fields.CharField(unique=True, max_length=30)),
                ('rsa_private_pem', fields.TextField(unique=False)),
                ('erased_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
            ],
            options={'table': 'erased_account', 'app': 'node', 'pk_attr': 'id', 'table_description': 'What stays of an account its member erased: the username, never given to anyone else'},
            bases=['Model'],
        ),
    ]
